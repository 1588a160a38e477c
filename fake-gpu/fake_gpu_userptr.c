// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu userptrs: user ranges mirrored into GPU PTEs with HMM.
 *
 * Binding follows the VM_BIND locking rules for userptrs: sample the
 * notifier sequence with mmu_interval_read_begin(), fault the range with
 * hmm_range_fault(), then take the notifier lock for read and install the
 * PTEs only if mmu_interval_read_retry() says no invalidation ran in
 * between. The PTEs are pfns without page references, as in real drivers:
 * the notifier is what keeps the GPU off pages the CPU no longer maps.
 */
#include <linux/hmm.h>
#include <linux/mm.h>
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

	mutex_lock(&vm->lock);
	list_add_tail(&uptr->vm_link, &vm->userptrs);
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

/*
 * hmm_range_fault() over @range of @uptr, retried while an invalidation
 * collides; @range->notifier_seq is the sequence the result is valid for.
 */
static int fake_gpu_userptr_fault(struct fake_gpu_userptr *uptr,
				  struct hmm_range *range)
{
	struct mm_struct *mm = uptr->vm->mm;
	int ret;

	do {
		range->notifier_seq = mmu_interval_read_begin(&uptr->notifier);
		mmap_read_lock(mm);
		ret = hmm_range_fault(range);
		mmap_read_unlock(mm);
	} while (ret == -EBUSY);
	return ret;
}

/**
 * fake_gpu_userptr_bind() - fault the range in and install the GPU PTEs
 * @uptr: the userptr
 *
 * Return: 0, -EINVAL if @uptr was destroyed, or the error of
 * hmm_range_fault() (-EFAULT for a range that is no longer mapped).
 */
int fake_gpu_userptr_bind(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;
	struct hmm_range range = {
		.notifier = &uptr->notifier,
		.start = uptr->start,
		.end = uptr->start + (uptr->npages << PAGE_SHIFT),
		.hmm_pfns = uptr->pfns,
		.default_flags = HMM_PFN_REQ_FAULT,
	};
	int ret;

	mutex_lock(&vm->lock);
	if (uptr->destroyed) {
		ret = -EINVAL;
		goto out_unlock;
	}
	if (!mmget_not_zero(vm->mm)) {
		ret = -EFAULT;
		goto out_unlock;
	}
again:
	ret = fake_gpu_userptr_fault(uptr, &range);
	if (ret)
		goto out_mmput;

	down_read(&vm->notifier_lock);
	if (mmu_interval_read_retry(&uptr->notifier, range.notifier_seq)) {
		up_read(&vm->notifier_lock);
		goto again;
	}
	/* The PTEs are @uptr->pfns, filled above; publish them. */
	WRITE_ONCE(uptr->bound, true);
	spin_lock(&vm->repin_lock);
	list_del_init(&uptr->repin_link);
	spin_unlock(&vm->repin_lock);
	up_read(&vm->notifier_lock);
out_mmput:
	mmput(vm->mm);
out_unlock:
	mutex_unlock(&vm->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(fake_gpu_userptr_bind);

/**
 * fake_gpu_read() - GPU read of a word of a bound userptr
 * @uptr: the userptr
 * @offset: byte offset into the range, 8-byte aligned
 * @val: the word read
 *
 * Goes through the device's TLB, else the PTEs (filling the TLB).
 *
 * Return: 0, -EFAULT on a GPU page fault (no valid translation), or
 * -EINVAL for an offset outside the range or a destroyed userptr.
 */
int fake_gpu_read(struct fake_gpu_userptr *uptr, unsigned long offset,
		  u64 *val)
{
	struct fake_gpu_vm *vm = uptr->vm;
	struct fake_gpu_dev *dev = vm->dev;
	unsigned long va, idx, pfn;
	int ret = 0;

	if (offset >= uptr->npages << PAGE_SHIFT || !IS_ALIGNED(offset, 8))
		return -EINVAL;
	idx = offset >> PAGE_SHIFT;
	va = uptr->start + (idx << PAGE_SHIFT);
	offset &= ~PAGE_MASK;

	if (!fake_gpu_tlb_read(dev, vm->asid, va, offset, val))
		return 0;

	down_read(&vm->notifier_lock);
	if (READ_ONCE(uptr->destroyed)) {
		ret = -EINVAL;
	} else if (!uptr->bound || !(uptr->pfns[idx] & HMM_PFN_VALID)) {
		atomic64_inc(&dev->stats.gpu_faults);
		ret = -EFAULT;
	} else {
		pfn = page_to_pfn(hmm_pfn_to_page(uptr->pfns[idx]));
		fake_gpu_tlb_fill(dev, vm->asid, va, pfn);
		*val = fake_gpu_read_page(pfn, offset);
	}
	up_read(&vm->notifier_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(fake_gpu_read);

/**
 * fake_gpu_userptr_check() - the oracle: compare GPU and CPU translations
 * @uptr: the userptr; call with no invalidation of its range running
 *
 * Every valid GPU PTE and TLB entry of the range must point at the page
 * the CPU mm maps at that address. Compares pfns only, so a stale entry
 * fails the check instead of being read. Each stale entry is counted in
 * the device's stale_detected.
 *
 * Return: the number of stale entries, or a negative error code.
 */
int fake_gpu_userptr_check(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;
	unsigned long *cpu, i;
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
	ret = fake_gpu_userptr_fault(uptr, &range);
	/* -EFAULT: nothing mapped any more; every translation is stale. */
	if (ret == -EFAULT) {
		memset(cpu, 0, uptr->npages * sizeof(*cpu));
		ret = 0;
	}
	if (ret)
		goto out;

	down_read(&vm->notifier_lock);
	for (i = 0; i < uptr->npages; i++) {
		bool mapped = cpu[i] & HMM_PFN_VALID;
		unsigned long pfn = mapped ? page_to_pfn(hmm_pfn_to_page(cpu[i])) : 0;
		unsigned long va = uptr->start + (i << PAGE_SHIFT);

		if (uptr->bound && (uptr->pfns[i] & HMM_PFN_VALID) &&
		    (!mapped || page_to_pfn(hmm_pfn_to_page(uptr->pfns[i])) != pfn))
			stale++;
		stale += fake_gpu_tlb_check(vm->dev, vm->asid, va, mapped, pfn);
	}
	up_read(&vm->notifier_lock);
	atomic64_add(stale, &vm->dev->stats.stale_detected);
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
 * Removes the notifier and drops the PTEs. The structure stays on its VM
 * until fake_gpu_vm_destroy(), so later calls on it fail with -EINVAL
 * instead of touching freed memory. Destroying twice is a no-op.
 */
void fake_gpu_userptr_destroy(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;

	mutex_lock(&vm->lock);
	if (uptr->destroyed) {
		mutex_unlock(&vm->lock);
		return;
	}
	/* Waits for an invalidation of the range, finishes included. */
	mmu_interval_notifier_remove(&uptr->notifier);
	down_write(&vm->notifier_lock);
	WRITE_ONCE(uptr->destroyed, true);
	uptr->bound = false;
	spin_lock(&vm->repin_lock);
	list_del_init(&uptr->repin_link);
	spin_unlock(&vm->repin_lock);
	up_write(&vm->notifier_lock);
	/* Translations cached before: gone before the pages may be freed. */
	fake_gpu_tlb_inval_wait(vm->dev,
				fake_gpu_tlb_inval_submit(vm->dev, vm->asid,
							  uptr->start,
							  uptr->start +
							  (uptr->npages << PAGE_SHIFT)));
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
	list_del(&uptr->vm_link);
	mutex_unlock(&vm->lock);
	kfree(uptr);
}
EXPORT_SYMBOL_GPL(fake_gpu_userptr_free);
