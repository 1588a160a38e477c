// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu userptr notifiers: single-pass, and two-pass with xe's flows.
 *
 * Both modes put the userptr on the VM's repin list under the notifier
 * lock and wait for the VM's jobs, as xe does. In fault mode the GPU may
 * access memory at any time, so the notifier then also zaps the PTEs and
 * invalidates the device's TLB; in non-fault mode the GPU runs nothing
 * outside its jobs, so, as on xe, the PTEs and TLB stay as they are until
 * the next exec rebinds the userptr, and waiting for the jobs is all that
 * keeps the GPU off the pages.
 *
 * Two-pass flows, as in xe's conversion (DESIGN.md section 5):
 *  - jobs pending: the first pass defers the job wait (and in fault mode
 *    the zap and TLB invalidation) to the finish;
 *  - jobs done, fault mode: the first pass zaps and submits the TLB
 *    invalidation (tlb_inval_submitted) and the finish waits for it;
 *  - jobs pending, FAKE_GPU_VM_TLB_OVERLAP (beyond xe): the first pass
 *    arms the zap and TLB submission on the jobs' fences, so that every
 *    device starts its TLB invalidation once its own jobs are done, and
 *    the finish waits for the submission, then for the TLB;
 *  - no finish structure (the embedded one is in use by a concurrent
 *    invalidation, or the pool is empty), or jobs done without fault mode:
 *    everything happens synchronously in the first pass.
 * On a non-blockable range the first pass returns false with no side
 * effects, as xe does: every flow may sleep.
 */
#include <kunit/static_stub.h>
#include <linux/delay.h>
#include <linux/hmm.h>
#include <linux/slab.h>

#include "fake_gpu_internal.h"

static unsigned long fake_gpu_userptr_end(struct fake_gpu_userptr *uptr)
{
	return uptr->start + (uptr->npages << PAGE_SHIFT);
}

/* Mark the userptr invalidated: exec rebinds it before the next job. */
static void fake_gpu_userptr_repin(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;

	lockdep_assert_held_write(&vm->notifier_lock);
	spin_lock(&vm->repin_lock);
	if (!uptr->destroyed)
		list_move_tail(&uptr->repin_link, &vm->repin_list);
	spin_unlock(&vm->repin_lock);
}

/* Zap the PTEs: GPU accesses that miss the TLB now fault. */
static void fake_gpu_userptr_zap(struct fake_gpu_userptr *uptr)
{
	lockdep_assert_held_write(&uptr->vm->notifier_lock);
	WRITE_ONCE(uptr->bound, false);
}

static struct dma_fence *fake_gpu_userptr_tlb_submit(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;

	return fake_gpu_tlb_inval_submit(vm->dev, vm->asid, uptr->start,
					 fake_gpu_userptr_end(uptr));
}

/*
 * The rest of the invalidation, synchronously: the jobs, then in fault mode
 * the PTEs and the TLB.
 */
static void fake_gpu_userptr_do_inval(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;

	fake_gpu_vm_wait_jobs(vm);
	if (!(vm->flags & FAKE_GPU_VM_FAULT_MODE))
		return;
	fake_gpu_userptr_zap(uptr);
	fake_gpu_tlb_inval_wait(vm->dev, fake_gpu_userptr_tlb_submit(uptr));
}

/* Zap and submit the TLB invalidation the finish waits for. */
static void fake_gpu_finish_submit_tlb(struct fake_gpu_userptr *uptr,
				       struct fake_gpu_finish *ff)
{
	lockdep_assert_held_write(&uptr->vm->notifier_lock);
	fake_gpu_userptr_zap(uptr);
	ff->tlb_fence = fake_gpu_userptr_tlb_submit(uptr);
	ff->tlb_inval_submitted = true;
}

/*
 * The overlapped flow. The finish cannot submit the TLB invalidation as
 * soon as the jobs are done: the core calls the finishes one after another,
 * so device N's would wait for the jobs and TLBs of devices 1 to N - 1.
 * Instead the first pass arms @ff->jobs_cb on a job fence of the VM that
 * is still pending; when it signals, @ff->submit_work re-arms on the next
 * pending one, if any, and once there is none takes the notifier lock,
 * zaps and submits. The finish waits for @ff->submitted without the
 * notifier lock, which the work needs.
 *
 * The price: a callback and a work item per invalidation with jobs
 * pending, and a job that never ends blocks the finish, as it blocks the
 * wait of the other flows.
 */
static void fake_gpu_overlap_jobs_cb(struct dma_fence *fence,
				     struct dma_fence_cb *cb)
{
	struct fake_gpu_finish *ff = container_of(cb, struct fake_gpu_finish,
						  jobs_cb);

	/* Any context, the fence's lock held: the submission may sleep. */
	queue_work(ff->uptr->vm->dev->inval_wq, &ff->submit_work);
}

/**
 * fake_gpu_overlap_armed() - an overlapped first pass armed its callback
 * @uptr: the userptr being invalidated, its VM's notifier lock held
 *
 * Does nothing; a KUnit test redirects it (a static stub) to learn that
 * the submission now waits for a job fence it controls.
 */
void fake_gpu_overlap_armed(struct fake_gpu_userptr *uptr)
{
	KUNIT_STATIC_STUB_REDIRECT(fake_gpu_overlap_armed, uptr);
}

/*
 * Arm @ff->jobs_cb on a pending job fence of the VM; false if none is.
 * None is published once this says none is pending, even without the
 * notifier lock: the userptr is on the repin list, so exec rebinds it
 * first, and the rebind waits for this invalidation to end.
 */
static bool fake_gpu_overlap_arm(struct fake_gpu_finish *ff)
{
	struct dma_resv_iter cursor;
	struct dma_fence *fence;
	bool armed = false;

	/* Without the resv lock, as the first pass's own wait. */
	dma_resv_iter_begin(&cursor, &ff->uptr->vm->resv, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_for_each_fence_unlocked(&cursor, fence) {
		if (!dma_fence_add_callback(fence, &ff->jobs_cb,
					    fake_gpu_overlap_jobs_cb)) {
			armed = true;
			break;
		}
	}
	dma_resv_iter_end(&cursor);
	return armed;
}

static void fake_gpu_overlap_submit_work(struct work_struct *work)
{
	struct fake_gpu_finish *ff = container_of(work, struct fake_gpu_finish,
						  submit_work);
	struct fake_gpu_userptr *uptr = ff->uptr;

	/* A job is still pending: its fence's callback queues this again. */
	if (fake_gpu_overlap_arm(ff))
		return;
	down_write(&uptr->vm->notifier_lock);
	fake_gpu_finish_submit_tlb(uptr, ff);
	up_write(&uptr->vm->notifier_lock);
	/* The last access to @ff: the finish may free it once woken. */
	complete(&ff->submitted);
}

/* The first pass of the overlapped flow, under the notifier lock. */
static void fake_gpu_overlap_start(struct fake_gpu_userptr *uptr,
				   struct fake_gpu_finish *ff)
{
	ff->overlap = true;
	ff->uptr = uptr;
	INIT_WORK(&ff->submit_work, fake_gpu_overlap_submit_work);
	init_completion(&ff->submitted);
	atomic64_inc(&uptr->vm->dev->stats[FAKE_GPU_STAT_DEFERRED_OVERLAP]);
	if (fake_gpu_overlap_arm(ff)) {
		fake_gpu_overlap_armed(uptr);
		return;
	}
	/* The jobs ended since fake_gpu_vm_jobs_done(). */
	fake_gpu_finish_submit_tlb(uptr, ff);
	complete(&ff->submitted);
}

static bool fake_gpu_invalidate(struct mmu_interval_notifier *sub,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq)
{
	struct fake_gpu_userptr *uptr =
		container_of(sub, struct fake_gpu_userptr, notifier);
	struct fake_gpu_vm *vm = uptr->vm;

	if (!mmu_notifier_range_blockable(range)) {
		atomic64_inc(&vm->dev->stats[FAKE_GPU_STAT_NONBLOCK_REFUSED]);
		return false;
	}

	down_write(&vm->notifier_lock);
	mmu_interval_set_seq(sub, cur_seq);
	atomic64_set(&vm->dev->stats[FAKE_GPU_STAT_LAST_START_SEQ],
		     atomic64_inc_return(&fake_gpu_pass_seq));
	fake_gpu_userptr_repin(uptr);
	fake_gpu_vm_jobs_done(vm);
	fake_gpu_userptr_do_inval(uptr);
	up_write(&vm->notifier_lock);
	atomic64_inc(&vm->dev->stats[FAKE_GPU_STAT_SINGLE_PASS]);
	return true;
}

/* The finish structure for this invalidation, or NULL: go synchronous. */
static struct mmu_interval_notifier_finish *
fake_gpu_finish_get(struct fake_gpu_userptr *uptr)
{
	struct fake_gpu_vm *vm = uptr->vm;
	struct fake_gpu_finish *pf;

	if (vm->flags & FAKE_GPU_VM_FINISH_POOL) {
		pf = fake_gpu_pool_get(vm);
		if (!pf) {
			atomic64_inc(&vm->dev->stats[FAKE_GPU_STAT_SYNC_NO_FINISH]);
			return NULL;
		}
		return &pf->base;
	}
	if (uptr->finish_inuse) {
		atomic64_inc(&vm->dev->stats[FAKE_GPU_STAT_SYNC_BUSY]);
		return NULL;
	}
	uptr->finish_inuse = true;
	return &uptr->finish.base;
}

static struct fake_gpu_finish *to_finish(struct mmu_interval_notifier_finish *f)
{
	return container_of(f, struct fake_gpu_finish, base);
}

static void fake_gpu_finish_put(struct fake_gpu_userptr *uptr,
				struct mmu_interval_notifier_finish *finish)
{
	if (finish == &uptr->finish.base)
		uptr->finish_inuse = false;
	else
		fake_gpu_pool_put(uptr->vm, to_finish(finish));
}

static bool fake_gpu_invalidate_start(struct mmu_interval_notifier *sub,
				      const struct mmu_notifier_range *range,
				      unsigned long cur_seq,
				      struct mmu_interval_notifier_finish **finish)
{
	struct fake_gpu_userptr *uptr =
		container_of(sub, struct fake_gpu_userptr, notifier);
	struct fake_gpu_vm *vm = uptr->vm;
	struct fake_gpu_dev *dev = vm->dev;
	struct mmu_interval_notifier_finish *f;

	if (!mmu_notifier_range_blockable(range)) {
		if (fake_gpu_canary(FAKE_GPU_CANARY_SLEEP))
			usleep_range(100, 200);
		atomic64_inc(&dev->stats[FAKE_GPU_STAT_NONBLOCK_REFUSED]);
		return false;
	}

	down_write(&vm->notifier_lock);
	if (fake_gpu_canary(FAKE_GPU_CANARY_LOCKDEP))
		kfree(kmalloc(64, GFP_KERNEL));
	if (fake_gpu_canary(FAKE_GPU_CANARY_RESV)) {
		dma_resv_lock(&vm->resv, NULL);
		dma_resv_unlock(&vm->resv);
	}
	mmu_interval_set_seq(sub, cur_seq);
	atomic64_set(&dev->stats[FAKE_GPU_STAT_LAST_START_SEQ],
		     atomic64_inc_return(&fake_gpu_pass_seq));
	fake_gpu_userptr_repin(uptr);

	f = fake_gpu_finish_get(uptr);
	if (!f) {
		fake_gpu_vm_jobs_done(vm);
		fake_gpu_userptr_do_inval(uptr);
	} else if (!fake_gpu_vm_jobs_done(vm)) {
		if (vm->flags & FAKE_GPU_VM_TLB_OVERLAP)
			fake_gpu_overlap_start(uptr, to_finish(f));
		else
			atomic64_inc(&dev->stats[FAKE_GPU_STAT_DEFERRED_JOBS]);
		*finish = f;
	} else if (vm->flags & FAKE_GPU_VM_FAULT_MODE) {
		fake_gpu_finish_submit_tlb(uptr, to_finish(f));
		atomic64_inc(&dev->stats[FAKE_GPU_STAT_DEFERRED_TLB]);
		*finish = f;
	} else {
		fake_gpu_finish_put(uptr, f);
		atomic64_inc(&dev->stats[FAKE_GPU_STAT_SYNC_IDLE]);
		fake_gpu_userptr_do_inval(uptr);
	}
	up_write(&vm->notifier_lock);
	return true;
}

static void fake_gpu_invalidate_finish(struct mmu_interval_notifier_finish *finish)
{
	struct fake_gpu_userptr *uptr =
		container_of(finish->notifier, struct fake_gpu_userptr, notifier);
	struct fake_gpu_vm *vm = uptr->vm;
	struct fake_gpu_finish *ff = to_finish(finish);
	struct fake_gpu_dev *dev = vm->dev;
	struct dma_fence *fence;

	if (ff->overlap) {
		wait_for_completion(&ff->submitted);
		ff->overlap = false;
	}
	down_write(&vm->notifier_lock);
	atomic64_set(&dev->stats[FAKE_GPU_STAT_LAST_FINISH_SEQ],
		     atomic64_inc_return(&fake_gpu_pass_seq));
	atomic64_inc(&dev->stats[FAKE_GPU_STAT_FINISHES]);
	if (ff->tlb_inval_submitted) {
		fence = ff->tlb_fence;
		ff->tlb_fence = NULL;
		ff->tlb_inval_submitted = false;
		fake_gpu_tlb_inval_wait(dev, fence);
	} else {
		fake_gpu_userptr_do_inval(uptr);
	}
	fake_gpu_finish_put(uptr, finish);
	if (fake_gpu_canary(FAKE_GPU_CANARY_KASAN) && finish != &uptr->finish.base)
		WRITE_ONCE(finish->notifier, NULL);	/* freed just above */
	up_write(&vm->notifier_lock);
}

const struct mmu_interval_notifier_ops fake_gpu_single_pass_ops = {
	.invalidate = fake_gpu_invalidate,
};

const struct mmu_interval_notifier_ops fake_gpu_two_pass_ops = {
	.invalidate_start = fake_gpu_invalidate_start,
	.invalidate_finish = fake_gpu_invalidate_finish,
};
