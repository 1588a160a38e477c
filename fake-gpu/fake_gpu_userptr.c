// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu userptrs: user ranges mirrored into GPU PTEs with HMM.
 *
 * Binding follows the VM_BIND locking rules for userptrs, as lib/test_hmm.c
 * does: sample the notifier sequence with mmu_interval_read_begin(), fault
 * the range with hmm_range_fault() into a private pfn array, then take the
 * notifier lock and copy the array into the PTEs only if
 * mmu_interval_read_retry() says no invalidation ran in between. The PTEs
 * are pfns without page references, as in real drivers: the notifier is
 * what keeps the GPU off pages the CPU no longer maps.
 */
#include <kunit/static_stub.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/mm.h>
#include <linux/rculist.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "fake_gpu_internal.h"

/* Whether [start, end) is covered by VMAs of @mm without holes. */
static bool fake_gpu_range_mapped(struct mm_struct *mm, unsigned long start,
				  unsigned long end)
{
	struct vm_area_struct *vma;
	bool mapped = true;

	mmap_read_lock(mm);
	while (start < end) {
		vma = find_vma(mm, start);
		if (!vma || vma->vm_start > start) {
			mapped = false;
			break;
		}
		start = vma->vm_end;
	}
	mmap_read_unlock(mm);
	return mapped;
}

/**
 * fake_gpu_userptr_create() - mirror [@start, @start + @length) in @vm
 * @vm: the VM; its mm must be the caller's and map the whole range
 * @start: page-aligned user address
 * @length: page-aligned, non-zero length
 *
 * The range is not bound yet: see fake_gpu_userptr_bind().
 *
 * Return: the userptr, ERR_PTR(-EINVAL) for an unaligned, empty or
 * wrapping range, ERR_PTR(-EFAULT) if the range is not mapped, or -ENOMEM.
 */
struct fake_gpu_userptr *fake_gpu_userptr_create(struct fake_gpu_vm *vm,
						 unsigned long start,
						 unsigned long length)
{
	const struct mmu_interval_notifier_ops *ops;
	struct fake_gpu_userptr *uptr;
	unsigned long end;
	int ret;

	if (!vm || !length || !PAGE_ALIGNED(start) || !PAGE_ALIGNED(length) ||
	    check_add_overflow(start, length, &end) || end > TASK_SIZE)
		return ERR_PTR(-EINVAL);
	if (!mmget_not_zero(vm->mm))
		return ERR_PTR(-EFAULT);
	if (!fake_gpu_range_mapped(vm->mm, start, end)) {
		ret = -EFAULT;
		goto out_mmput;
	}

	ret = -ENOMEM;
	uptr = kzalloc_obj(*uptr, GFP_KERNEL);
	if (!uptr)
		goto out_mmput;
	uptr->npages = length >> PAGE_SHIFT;
	uptr->pfns = kvcalloc(uptr->npages, sizeof(*uptr->pfns), GFP_KERNEL);
	if (!uptr->pfns)
		goto out_free;
	uptr->vm = vm;
	uptr->start = start;
	INIT_LIST_HEAD(&uptr->repin_link);

	ops = vm->mode == FAKE_GPU_TWO_PASS ? &fake_gpu_two_pass_ops :
					      &fake_gpu_single_pass_ops;
	ret = mmu_interval_notifier_insert(&uptr->notifier, vm->mm, start,
					   length, ops);
	if (ret)
		goto out_free_pfns;
	mmput(vm->mm);

	/* Complete: jobs may find it from now on (under RCU). */
	mutex_lock(&vm->lock);
	list_add_tail_rcu(&uptr->vm_link, &vm->userptrs);
	mutex_unlock(&vm->lock);
	return uptr;

out_free_pfns:
	kvfree(uptr->pfns);
out_free:
	kfree(uptr);
out_mmput:
	mmput(vm->mm);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL_GPL(fake_gpu_userptr_create);

/**
 * fake_gpu_race_window() - where an invalidation may run on another CPU
 * @uptr: the userptr whose range was just faulted
 * @window: FAKE_GPU_WINDOW_BIND or FAKE_GPU_WINDOW_ORACLE
 *
 * Called after hmm_range_fault() and before the notifier lock is taken:
 * the window mmu_interval_read_retry() closes. Does nothing; a KUnit test
 * redirects it (a static stub) to run an invalidation there, which UML,
 * one CPU without preemption, never does by itself.
 */
void fake_gpu_race_window(struct fake_gpu_userptr *uptr,
			  enum fake_gpu_window window)
{
	KUNIT_STATIC_STUB_REDIRECT(fake_gpu_race_window, uptr, window);
}

/*
 * Fault @range of @uptr and set its notifier sequence; no lock is taken.
 * With @snapshot the range is only looked at (default_flags 0), and a
 * range no longer mapped is a result, all pfns zero, not an error. Gives
 * up with -EAGAIN after @timeout (jiffies): the caller's retries share it.
 *
 * The caller then takes the notifier lock in the mode it needs and calls
 * mmu_interval_read_retry(): an invalidation between the fault and the
 * lock (fake_gpu_race_window()) means faulting again.
 */
static int fake_gpu_userptr_fault(struct fake_gpu_userptr *uptr,
				  struct hmm_range *range, bool snapshot,
				  unsigned long timeout)
{
	struct mm_struct *mm = uptr->vm->mm;
	int ret;

	/* An invalidation waits for the notifier lock: fault without it. */
	lockdep_assert_not_held(&uptr->vm->notifier_lock);
	do {
		if (time_after(jiffies, timeout))
			return -EAGAIN;
		range->notifier_seq = mmu_interval_read_begin(&uptr->notifier);
		mmap_read_lock(mm);
		ret = hmm_range_fault(range);
		mmap_read_unlock(mm);
	} while (ret == -EBUSY);
	if (ret == -EFAULT && snapshot) {
		memset(range->hmm_pfns, 0, uptr->npages * sizeof(*range->hmm_pfns));
		ret = 0;
	}
	return ret;
}

/*
 * Take the GPU off @uptr: invalidate its PTEs and flush its TLB entries,
 * which waits for the accesses in flight. Under the notifier lock (write).
 */
void fake_gpu_userptr_gpu_off(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;

	lockdep_assert_held_write(&vm->notifier_lock);
	WRITE_ONCE(uptr->bound, false);
	fake_gpu_tlb_inval_wait(vm->dev,
				fake_gpu_tlb_inval_submit(vm->dev, vm->asid, uptr->start,
							  uptr->start +
							  (uptr->npages << PAGE_SHIFT)));
}

/* Take @uptr off its VM's repin list. */
static void fake_gpu_userptr_unrepin(struct fake_gpu_userptr *uptr)
{
	spin_lock(&uptr->vm->repin_lock);
	list_del_init(&uptr->repin_link);
	spin_unlock(&uptr->vm->repin_lock);
}

/* fake_gpu_userptr_bind() with the VM's lock held. */
static int fake_gpu_userptr_bind_locked(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;
	struct hmm_range range = {
		.notifier = &uptr->notifier,
		.start = uptr->start,
		.end = uptr->start + (uptr->npages << PAGE_SHIFT),
		.default_flags = HMM_PFN_REQ_FAULT,
	};
	unsigned long timeout;
	int ret;

	lockdep_assert_held(&vm->lock);
	if (uptr->destroyed)
		return -EINVAL;
	/* Private: the live PTEs change only under the notifier lock. */
	range.hmm_pfns = kvcalloc(uptr->npages, sizeof(*range.hmm_pfns), GFP_KERNEL);
	if (!range.hmm_pfns)
		return -ENOMEM;
	if (!mmget_not_zero(vm->mm)) {
		kvfree(range.hmm_pfns);
		return -EFAULT;
	}
	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		ret = fake_gpu_userptr_fault(uptr, &range, false, timeout);
		if (ret)
			break;
		fake_gpu_race_window(uptr, FAKE_GPU_WINDOW_BIND);
		/* For write: the PTEs are installed under it. */
		down_write(&vm->notifier_lock);
		if (!mmu_interval_read_retry(&uptr->notifier, range.notifier_seq))
			break;
		up_write(&vm->notifier_lock);
	}
	if (!ret) {
		/*
		 * A rebind: jobs may still read the old PTEs (non-fault mode
		 * does not zap them) and the TLB may cache them. Take the GPU
		 * off them first.
		 */
		if (uptr->ever_bound)
			fake_gpu_userptr_gpu_off(uptr);
		memcpy(uptr->pfns, range.hmm_pfns, uptr->npages * sizeof(*uptr->pfns));
		uptr->notifier_seq = range.notifier_seq;
		uptr->ever_bound = true;
		/* Jobs read the PTEs without a lock once they see @bound. */
		smp_store_release(&uptr->bound, true);
		fake_gpu_userptr_unrepin(uptr);
		up_write(&vm->notifier_lock);
	}
	mmput(vm->mm);
	kvfree(range.hmm_pfns);
	return ret;
}

/**
 * fake_gpu_userptr_bind() - fault the range in and install the GPU PTEs
 * @uptr: the userptr
 *
 * Return: 0, -EINVAL if @uptr was destroyed, -EAGAIN if invalidations kept
 * colliding with the fault, -ENOMEM, or the error of hmm_range_fault()
 * (-EFAULT for a range that is no longer mapped).
 */
int fake_gpu_userptr_bind(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;
	int ret;

	mutex_lock(&vm->lock);
	ret = fake_gpu_userptr_bind_locked(uptr);
	mutex_unlock(&vm->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(fake_gpu_userptr_bind);

/*
 * Rebind every userptr of @vm an invalidation put on the repin list, as
 * xe's exec does before a job. A userptr whose range is gone stays off
 * the GPU (its accesses fault) and leaves the list.
 *
 * Return: 0, or the error of a bind that may succeed later (-EAGAIN,
 * -ENOMEM).
 */
int fake_gpu_vm_repin(struct fake_gpu_vm *vm)
{
	struct fake_gpu_userptr *uptr;
	int ret = 0;

	mutex_lock(&vm->lock);
	for (;;) {
		spin_lock(&vm->repin_lock);
		uptr = list_first_entry_or_null(&vm->repin_list,
						struct fake_gpu_userptr, repin_link);
		spin_unlock(&vm->repin_lock);
		if (!uptr)
			break;
		ret = fake_gpu_userptr_bind_locked(uptr);
		if (ret == -EAGAIN || ret == -ENOMEM)
			break;
		if (ret) {
			down_write(&vm->notifier_lock);
			fake_gpu_userptr_gpu_off(uptr);
			fake_gpu_userptr_unrepin(uptr);
			up_write(&vm->notifier_lock);
			ret = 0;
		}
	}
	mutex_unlock(&vm->lock);
	return ret;
}

/**
 * fake_gpu_userptr_check() - the oracle: compare GPU and CPU translations
 * @uptr: the userptr
 *
 * Every valid GPU PTE and TLB entry of the range must point at the page
 * the CPU mm maps at that address. Compares pfns only, so a stale entry
 * fails the check instead of being read. The CPU snapshot is taken again
 * if an invalidation of the range ran before the comparison (under the
 * notifier lock) began. Each stale entry is counted in the device's
 * stale_detected.
 *
 * Return: the number of stale entries, or a negative error code.
 */
int fake_gpu_userptr_check(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;
	unsigned long *cpu, i, timeout;
	struct hmm_range range = {
		.notifier = &uptr->notifier,
		.start = uptr->start,
		.end = uptr->start + (uptr->npages << PAGE_SHIFT),
		.default_flags = 0,	/* snapshot: fault nothing in */
	};
	int ret, stale = 0;

	cpu = kvcalloc(uptr->npages, sizeof(*cpu), GFP_KERNEL);
	if (!cpu)
		return -ENOMEM;
	range.hmm_pfns = cpu;
	if (!mmget_not_zero(vm->mm)) {
		kvfree(cpu);
		return -EFAULT;
	}
	timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	for (;;) {
		ret = fake_gpu_userptr_fault(uptr, &range, true, timeout);
		if (ret)
			goto out;
		fake_gpu_race_window(uptr, FAKE_GPU_WINDOW_ORACLE);
		/* For read: the oracle only compares, as GPU accesses do. */
		down_read(&vm->notifier_lock);
		if (!mmu_interval_read_retry(&uptr->notifier, range.notifier_seq))
			break;
		up_read(&vm->notifier_lock);
	}

	/*
	 * In non-fault mode an invalidated userptr keeps its PTEs and TLB
	 * entries, as on xe, and nothing may use them until it is rebound:
	 * they are dormant, not stale.
	 */
	if (!(vm->flags & FAKE_GPU_VM_FAULT_MODE) && !fake_gpu_userptr_valid(uptr))
		goto unlock;
	for (i = 0; i < uptr->npages; i++) {
		bool mapped = cpu[i] & HMM_PFN_VALID;
		unsigned long pfn = mapped ? page_to_pfn(hmm_pfn_to_page(cpu[i])) : 0;
		unsigned long va = uptr->start + (i << PAGE_SHIFT);

		if (uptr->bound && (uptr->pfns[i] & HMM_PFN_VALID) &&
		    (!mapped || page_to_pfn(hmm_pfn_to_page(uptr->pfns[i])) != pfn))
			stale++;
		stale += fake_gpu_tlb_check(vm->dev, vm->asid, va, mapped, pfn);
	}
unlock:
	up_read(&vm->notifier_lock);
	atomic64_add(stale, &vm->dev->stats[FAKE_GPU_STAT_STALE_DETECTED]);
	ret = stale;
out:
	mmput(vm->mm);
	kvfree(cpu);
	return ret;
}
EXPORT_SYMBOL_GPL(fake_gpu_userptr_check);

/**
 * fake_gpu_userptr_destroy() - stop mirroring a userptr
 * @uptr: the userptr
 *
 * Drops the PTEs and the TLB entries, then removes the notifier: the
 * mirror is off before nothing would tell it of an invalidation any more.
 * The structure stays on its VM until fake_gpu_vm_destroy(), so later
 * calls on it fail with -EINVAL instead of touching freed memory.
 * Destroying twice is a no-op.
 */
void fake_gpu_userptr_destroy(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;

	mutex_lock(&vm->lock);
	if (uptr->destroyed) {
		mutex_unlock(&vm->lock);
		return;
	}
	down_write(&vm->notifier_lock);
	WRITE_ONCE(uptr->destroyed, true);
	fake_gpu_userptr_unrepin(uptr);
	/* Under the lock, as the notifier does: no GPU access after this. */
	fake_gpu_userptr_gpu_off(uptr);
	up_write(&vm->notifier_lock);
	/* Waits for an invalidation of the range, finishes included. */
	mmu_interval_notifier_remove(&uptr->notifier);
	kvfree(uptr->pfns);
	uptr->pfns = NULL;
	mutex_unlock(&vm->lock);
}
EXPORT_SYMBOL_GPL(fake_gpu_userptr_destroy);

/**
 * fake_gpu_userptr_free() - destroy a userptr and free it now
 * @uptr: the userptr; nobody may use it any more
 *
 * For owners that track their userptrs themselves, such as /dev/fake_gpu:
 * unlike after fake_gpu_userptr_destroy(), the structure does not stay on
 * its VM until fake_gpu_vm_destroy().
 */
void fake_gpu_userptr_free(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;

	fake_gpu_userptr_destroy(uptr);
	mutex_lock(&vm->lock);
	list_del_rcu(&uptr->vm_link);
	mutex_unlock(&vm->lock);
	/* Jobs may still be walking past it. */
	kfree_rcu(uptr, rcu);
}
EXPORT_SYMBOL_GPL(fake_gpu_userptr_free);
