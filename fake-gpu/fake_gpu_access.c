// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu memory accesses: what running jobs and GPU reads do to user
 * memory, and the stale-access oracle that watches them.
 *
 * An access translates through the device's TLB, else the userptr's PTEs
 * (filling the TLB), and reads a word of the page through its kernel
 * mapping, as the GPU's DMA would. It holds tlb_lock from the translation
 * to the read, so a TLB invalidation, which clears under that lock, also
 * waits for the accesses in flight, as hardware does.
 *
 * Jobs access like hardware: they take no driver lock (they run inside a
 * dma-fence signalling section) and look at no driver state but the PTEs,
 * so after an invalidation they keep using whatever translations are left
 * until they stop. Only the notifier can keep them off pages the CPU gave
 * up: in fault mode by zapping the PTEs and flushing the TLB, in non-fault
 * mode, as xe, only by waiting for the jobs to stop. A read outside a job,
 * fake_gpu_read(), is a hardware access in fault mode; in non-fault mode,
 * where a GPU runs nothing outside its jobs, it is a job of one word, and
 * checks what the exec path checks.
 *
 * The oracle: an access to a page that no page table maps any more is
 * stale (the shared zero page aside, which is mapped without a count).
 * It is counted in the device's stale_access and reported once per
 * device ("fake_gpu: stale GPU access"), which fails the run through the
 * rig's splat gate whatever the test asserts; if the page was freed, KASAN
 * reports the read as well.
 */
#define pr_fmt(fmt) "fake_gpu: " fmt

#include <linux/hmm.h>
#include <linux/mm.h>
#include <linux/rculist.h>

#include "fake_gpu_internal.h"

/*
 * Pages of each userptr a job touches per pass over its VM: while an
 * invalidation is in flight (consecutive, moving on with every pass), and
 * when it starts and ends (spread over the whole userptr: every page of
 * one up to this size).
 */
#define FAKE_GPU_JOB_PAGES_PER_PASS	16
#define FAKE_GPU_JOB_PAGES_AT_EDGE	64

/*
 * One GPU access to page @idx of @uptr at @offset: 0 and the word in *@val,
 * or -EFAULT when no valid translation exists (a GPU page fault).
 */
static int fake_gpu_access(struct fake_gpu_userptr *uptr, unsigned long idx,
			   unsigned long offset, u64 *val)
{
	struct fake_gpu_vm *vm = uptr->vm;
	struct fake_gpu_dev *dev = vm->dev;
	unsigned long va = uptr->start + (idx << PAGE_SHIFT);
	unsigned long pfn, hmm_pfn, flags;
	struct page *page;

	/* Irq-safe: the TLB's completion interrupt clears under it. */
	spin_lock_irqsave(&dev->tlb_lock, flags);
	/* Canary "race": one counter for the accesses of every GPU, unlocked. */
	if (fake_gpu_canary(FAKE_GPU_CANARY_RACE))
		fake_gpu_canary_race();
	if (!fake_gpu_tlb_lookup_locked(dev, vm->asid, va, &pfn)) {
		/* Paired with bind's smp_store_release(): the PTEs are written. */
		hmm_pfn = smp_load_acquire(&uptr->bound) ? READ_ONCE(uptr->pfns[idx]) : 0;
		if (!(hmm_pfn & HMM_PFN_VALID)) {
			spin_unlock_irqrestore(&dev->tlb_lock, flags);
			return -EFAULT;
		}
		pfn = page_to_pfn(hmm_pfn_to_page(hmm_pfn));
		fake_gpu_tlb_fill_locked(dev, vm->asid, va, pfn);
	}
	page = pfn_to_page(pfn);
	/* The zero page is mapped without a mapcount. */
	if (!is_zero_pfn(pfn) && !folio_mapped(page_folio(page))) {
		atomic64_inc(&dev->stats[FAKE_GPU_STAT_STALE_ACCESS]);
		if (!atomic_xchg(&dev->stale_reported, 1))
			pr_err("stale GPU access: gpu%u asid %u va %#lx pfn %#lx is mapped nowhere\n",
			       dev->index, vm->asid, va, pfn);
	}
	*val = READ_ONCE(*(u64 *)(page_address(page) + offset));
	spin_unlock_irqrestore(&dev->tlb_lock, flags);
	return 0;
}

/**
 * fake_gpu_job_access() - what a running job does: touch its VM's memory
 * @vm: the job's VM
 * @pass: how many passes the job made before, to move over large ranges
 * @edge: the pass at the job's start or end: spread over every userptr
 *
 * Reads a word of up to FAKE_GPU_JOB_PAGES_PER_PASS consecutive pages of
 * every userptr of @vm, or at an @edge up to FAKE_GPU_JOB_PAGES_AT_EDGE
 * pages spread over each, through the GPU's translations. Faults are
 * skipped, as a GPU in fault mode would stall on them. Called from the
 * queues' rings, inside a dma-fence signalling section: takes no lock but
 * tlb_lock, and finds the userptrs under RCU (they are freed after a
 * grace period).
 */
void fake_gpu_job_access(struct fake_gpu_vm *vm, unsigned long pass, bool edge)
{
	struct fake_gpu_userptr *uptr;
	unsigned long i, n, step, first;
	u64 val;

	rcu_read_lock();
	list_for_each_entry_rcu(uptr, &vm->userptrs, vm_link) {
		n = min(uptr->npages, edge ? FAKE_GPU_JOB_PAGES_AT_EDGE :
			FAKE_GPU_JOB_PAGES_PER_PASS);
		step = edge ? uptr->npages / n : 1;
		first = edge ? 0 : pass * FAKE_GPU_JOB_PAGES_PER_PASS;
		for (i = 0; i < n; i++)
			fake_gpu_access(uptr, (first + i * step) % uptr->npages, 0, &val);
	}
	rcu_read_unlock();
}

/*
 * What exec checks before a job may run, under the notifier lock: no
 * invalidation of @uptr since it was bound.
 */
bool fake_gpu_userptr_valid(struct fake_gpu_userptr *uptr)
{
	lockdep_assert_held(&uptr->vm->notifier_lock);
	return !uptr->destroyed && uptr->bound && list_empty(&uptr->repin_link) &&
	       !mmu_interval_read_retry(&uptr->notifier, uptr->notifier_seq);
}

/**
 * fake_gpu_read() - GPU read of a word of a bound userptr
 * @uptr: the userptr
 * @offset: byte offset into the range, 8-byte aligned
 * @val: the word read
 *
 * In fault mode a hardware access through the device's TLB, else the PTEs;
 * in non-fault mode a job of one word, refused (a fault) when the userptr
 * was invalidated since it was bound, as exec refuses to run jobs on it.
 *
 * Return: 0, -EFAULT on a GPU page fault or an invalidated userptr, or
 * -EINVAL for an offset outside the range or a destroyed userptr.
 */
int fake_gpu_read(struct fake_gpu_userptr *uptr, unsigned long offset,
		  u64 *val)
{
	struct fake_gpu_vm *vm = uptr->vm;
	int ret;

	if (offset >= uptr->npages << PAGE_SHIFT || !IS_ALIGNED(offset, 8))
		return -EINVAL;
	down_read(&vm->notifier_lock);
	if (uptr->destroyed)
		ret = -EINVAL;
	else if (!(vm->flags & FAKE_GPU_VM_FAULT_MODE) && !fake_gpu_userptr_valid(uptr))
		ret = -EFAULT;
	else
		ret = fake_gpu_access(uptr, offset >> PAGE_SHIFT, offset & ~PAGE_MASK, val);
	up_read(&vm->notifier_lock);
	if (ret == -EFAULT)
		atomic64_inc(&vm->dev->stats[FAKE_GPU_STAT_GPU_FAULTS]);
	return ret;
}
EXPORT_SYMBOL_GPL(fake_gpu_read);
