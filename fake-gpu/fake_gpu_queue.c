// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu exec queues: the timelines of emulated GPU jobs.
 *
 * A queue is what a GPU's ring or xe's exec queue is: one dma_fence
 * context, whose jobs run one at a time in submission order, so their
 * fences signal in seqno order. That is the contract dma_resv relies on:
 * dma_resv_add_fence() keeps only the newest fence of a context, so a job
 * that could end after a later one of its queue would vanish from the VM's
 * reservation and nobody would wait for it. A VM may have several queues.
 *
 * Each queue has a ring worker on its device's job workqueue that takes
 * the queue's runnable jobs in order, runs each for its duration on the
 * GPU's clock, not the worker's, touching its VM's memory whenever a
 * stale access could happen (fake_gpu_job_run(), fake_gpu_access.c), and
 * signals its fence.
 * A job of a normal queue is runnable when submitted.
 * A job of a preempt queue (FAKE_GPU_VM_PREEMPT_JOBS) runs until it is
 * preempted, as xe's long-running jobs behind their preempt fences do:
 * enabling signalling on its fence is the preemption request, which makes
 * it and every earlier job of the queue runnable; the duration is then
 * the time the job takes to stop.
 *
 * Exec: before a job's fence is published, the submitter rebinds the
 * userptrs invalidations put on the VM's repin list, then takes the
 * notifier lock for read and checks that no invalidation came since, as
 * xe's exec does; it publishes the fence under that lock, so a notifier
 * either ran before (and exec saw it) or finds the fence in the resv and
 * waits for it. A job never starts on an invalidated userptr.
 *
 * Lifetime: the VM owns its queues and a reference on each; every job
 * holds a reference on its queue, dropped when its fence is released, so
 * the queue's lock (the fences' lock) outlives every fence that uses it.
 */
#include <kunit/static_stub.h>
#include <linux/hrtimer.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include "fake_gpu_internal.h"

struct fake_gpu_job {
	struct dma_fence fence;		/* first: freed with dma_fence_free() */
	struct fake_gpu_queue *queue;
	struct list_head link;		/* on the queue's waiting or runnable list */
	u32 duration_us;
	ktime_t ready;			/* made runnable; set under the queue's lock */
};

static struct fake_gpu_job *to_job(struct dma_fence *fence)
{
	return container_of(fence, struct fake_gpu_job, fence);
}

static const char *fake_gpu_job_driver_name(struct dma_fence *fence)
{
	return "fake-gpu";
}

static const char *fake_gpu_job_timeline_name(struct dma_fence *fence)
{
	return "job";
}

static void fake_gpu_queue_free(struct kref *ref)
{
	kfree(container_of(ref, struct fake_gpu_queue, ref));
}

static void fake_gpu_job_release(struct dma_fence *fence)
{
	struct fake_gpu_queue *q = to_job(fence)->queue;

	dma_fence_free(fence);
	kref_put(&q->ref, fake_gpu_queue_free);
}

static const struct dma_fence_ops fake_gpu_job_fence_ops = {
	.get_driver_name = fake_gpu_job_driver_name,
	.get_timeline_name = fake_gpu_job_timeline_name,
	.release = fake_gpu_job_release,
};

/*
 * The preemption request: called by dma_fence_enable_signaling() with the
 * queue's lock held. Earlier jobs stop first, in order.
 */
static bool fake_gpu_job_enable_signaling(struct dma_fence *fence)
{
	struct fake_gpu_queue *q = to_job(fence)->queue;
	struct fake_gpu_job *job, *next;
	ktime_t now = ktime_get();

	lockdep_assert_held(&q->lock);
	list_for_each_entry_safe(job, next, &q->waiting, link) {
		if (job->fence.seqno > fence->seqno)
			break;
		job->ready = now;
		list_move_tail(&job->link, &q->runnable);
	}
	queue_work(q->vm->dev->job_wq, &q->ring);
	return true;
}

static const struct dma_fence_ops fake_gpu_preempt_job_fence_ops = {
	.get_driver_name = fake_gpu_job_driver_name,
	.get_timeline_name = fake_gpu_job_timeline_name,
	.enable_signaling = fake_gpu_job_enable_signaling,
	.release = fake_gpu_job_release,
};

/*
 * How often a running job touches its VM's memory while its device has a
 * TLB invalidation in flight.
 */
#define FAKE_GPU_JOB_ACCESS_US		50
/* Exec gives up after this many invalidations racing it (-EAGAIN). */
#define FAKE_GPU_EXEC_TRIES		16

/*
 * Sleep until @until, no later than FAKE_GPU_JOB_ACCESS_US from @now while
 * a TLB invalidation of @dev is in flight, and no longer once one is
 * submitted.
 */
static void fake_gpu_job_sleep(struct fake_gpu_dev *dev, ktime_t now, ktime_t until)
{
	ktime_t soon = ktime_add_us(now, FAKE_GPU_JOB_ACCESS_US);
	DEFINE_WAIT(wait);

	/* Queued first: a submission after the check wakes the sleep. */
	prepare_to_wait(&dev->tlb_submitted, &wait, TASK_UNINTERRUPTIBLE);
	if (fake_gpu_tlb_busy(dev) && ktime_before(soon, until))
		until = soon;
	schedule_hrtimeout_range(&until, 0, HRTIMER_MODE_ABS);
	finish_wait(&dev->tlb_submitted, &wait);
}

/*
 * Run @job: touch memory when it starts, every FAKE_GPU_JOB_ACCESS_US
 * while its device's TLB may hold stale translations, and at its deadline,
 * just before its fence signals, the first and last passes spread over
 * each whole userptr. That is every access the stale-access oracle needs,
 * at a cost that does not grow with the time N jobs run:
 *
 * - non-fault mode: only the wait for the job keeps it off pages the CPU
 *   gave up. A notifier that returns before the job ended lets munmap()
 *   unmap the pages at once, so the job's last access finds them mapped
 *   nowhere (or freed: KASAN);
 * - fault mode: the notifier zaps the PTEs, so a stale access goes through
 *   a translation the TLB still caches, until an invalidation completes:
 *   the accesses are periodic while one is in flight, and one left
 *   uncleared or never sent is found by the last access.
 *
 * Touching memory all along, as before, cost N wake-ups every 50 us: on
 * the one UML CPU the emulation of 64 GPUs' traffic, not the notifier,
 * set the time of a munmap (docs/bench.md). What is given up: in
 * non-fault mode a stale access is seen at the job's end, not within
 * 50 us; a freed page mapped again by then is missed by the oracle. And
 * the job keeps the GPU's time (below): a ring that gets the CPU only
 * after its job's deadline makes one pass, both the first and the last,
 * with no periodic ones between.
 */
static void fake_gpu_job_run(struct fake_gpu_queue *q, struct fake_gpu_job *job)
{
	ktime_t start = max(job->ready, q->busy_until);
	ktime_t deadline = ktime_add_us(start, job->duration_us);
	unsigned long pass;
	ktime_t now;

	/*
	 * The GPU's clock, not the CPU's: the job starts when it was made
	 * runnable or when the queue's job before it ended, however late
	 * this worker got the CPU. On the one UML CPU, 64 rings each
	 * touching memory as they start would otherwise push every later
	 * job's end back by the cost of the emulation itself.
	 */
	q->busy_until = deadline;

	for (pass = 0; ; pass++) {
		now = ktime_get();
		fake_gpu_job_access(q->vm, pass, !pass || !ktime_before(now, deadline));
		if (!ktime_before(now, deadline))
			return;
		fake_gpu_job_sleep(q->vm->dev, ktime_get(), deadline);
	}
}

/* The ring: run the queue's runnable jobs one after the other. */
static void fake_gpu_queue_ring(struct work_struct *work)
{
	struct fake_gpu_queue *q = container_of(work, struct fake_gpu_queue, ring);
	struct fake_gpu_job *job;
	bool cookie;

	for (;;) {
		spin_lock_irq(&q->lock);
		job = list_first_entry_or_null(&q->runnable, struct fake_gpu_job,
					       link);
		if (job)
			list_del_init(&job->link);
		spin_unlock_irq(&q->lock);
		if (!job)
			return;

		cookie = dma_fence_begin_signalling();
		fake_gpu_job_run(q, job);
		dma_fence_signal(&job->fence);
		dma_fence_end_signalling(cookie);
		/* The ring's reference, taken when the job was submitted. */
		dma_fence_put(&job->fence);
	}
}

/*
 * Whether a job may run on @vm now: under the notifier lock, nothing on the
 * repin list and no invalidation of a bound userptr since its bind.
 */
static bool fake_gpu_vm_exec_valid(struct fake_gpu_vm *vm)
{
	struct fake_gpu_userptr *uptr;
	bool valid;

	lockdep_assert_held(&vm->notifier_lock);
	spin_lock(&vm->repin_lock);
	valid = list_empty(&vm->repin_list);
	spin_unlock(&vm->repin_lock);
	rcu_read_lock();
	list_for_each_entry_rcu(uptr, &vm->userptrs, vm_link)
		if (valid && uptr->bound && !uptr->destroyed)
			valid = fake_gpu_userptr_valid(uptr);
	rcu_read_unlock();
	return valid;
}

/**
 * fake_gpu_queue_create() - add an exec queue to a VM
 * @vm: the VM; the queue lives until the VM is destroyed
 *
 * Jobs of the queue are preempt-style if the VM was created with
 * FAKE_GPU_VM_PREEMPT_JOBS.
 *
 * Return: the queue, or ERR_PTR(-ENOMEM).
 */
struct fake_gpu_queue *fake_gpu_queue_create(struct fake_gpu_vm *vm)
{
	struct fake_gpu_queue *q;

	q = kzalloc_obj(*q, GFP_KERNEL);
	if (!q)
		return ERR_PTR(-ENOMEM);
	kref_init(&q->ref);
	q->vm = vm;
	q->context = dma_fence_context_alloc(1);
	spin_lock_init(&q->lock);
	INIT_LIST_HEAD(&q->waiting);
	INIT_LIST_HEAD(&q->runnable);
	INIT_WORK(&q->ring, fake_gpu_queue_ring);

	mutex_lock(&vm->lock);
	list_add_tail(&q->vm_link, &vm->queues);
	mutex_unlock(&vm->lock);
	return q;
}
EXPORT_SYMBOL_GPL(fake_gpu_queue_create);

/**
 * fake_gpu_queue_submit() - run an emulated GPU job on an exec queue
 * @q: the queue
 * @duration_us: how long the job runs (a preempt-style job: how long it
 *               takes to stop), at most FAKE_GPU_MAX_JOB_US
 * @fence: if not NULL, receives a reference to the job's fence
 *
 * The exec path: rebinds the VM's invalidated userptrs, then publishes the
 * job's fence only if no invalidation came in between (see the top of the
 * file). The fence gets the queue's next seqno and joins the VM's dma_resv
 * with BOOKKEEP usage, which the notifiers wait for, before the job can
 * run: the seqno, the resv and the queue's lists are updated under the
 * VM's resv lock, so fences enter the resv in seqno order.
 *
 * Return: 0, -EINVAL for a too long job, -EAGAIN if invalidations kept
 * racing the exec, or -ENOMEM.
 */
int fake_gpu_queue_submit(struct fake_gpu_queue *q, u32 duration_us,
			  struct dma_fence **fence)
{
	struct fake_gpu_vm *vm = q->vm;
	struct fake_gpu_job *job;
	bool preempt;
	int ret, tries;

	if (duration_us > FAKE_GPU_MAX_JOB_US)
		return -EINVAL;
	job = kzalloc_obj(*job, GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	job->queue = q;
	job->duration_us = duration_us;
	INIT_LIST_HEAD(&job->link);
	preempt = vm->flags & FAKE_GPU_VM_PREEMPT_JOBS;

	for (tries = 0; ; tries++) {
		ret = tries < FAKE_GPU_EXEC_TRIES ? 0 : -EAGAIN;
		if (!ret && !fake_gpu_canary(FAKE_GPU_CANARY_EXEC))
			ret = fake_gpu_vm_repin(vm);
		if (ret) {
			kfree(job);
			return ret;
		}
		dma_resv_lock(&vm->resv, NULL);
		ret = dma_resv_reserve_fences(&vm->resv, 1);
		if (ret) {
			dma_resv_unlock(&vm->resv);
			kfree(job);
			return ret;
		}
		down_read(&vm->notifier_lock);
		if (fake_gpu_canary(FAKE_GPU_CANARY_EXEC) || fake_gpu_vm_exec_valid(vm))
			break;
		/* An invalidation came after the repin: once more. */
		up_read(&vm->notifier_lock);
		dma_resv_unlock(&vm->resv);
	}
	kref_get(&q->ref);
	/* Under the resv lock: seqnos are handed out in resv order. */
	dma_fence_init(&job->fence, preempt ? &fake_gpu_preempt_job_fence_ops :
		       &fake_gpu_job_fence_ops, &q->lock, q->context, ++q->seqno);
	if (fence)
		*fence = dma_fence_get(&job->fence);
	/*
	 * Into the resv (which takes a reference of its own) before the ring
	 * can see the job: the ring drops dma_fence_init()'s reference when
	 * the job ends, which may be at once.
	 */
	dma_resv_add_fence(&vm->resv, &job->fence, DMA_RESV_USAGE_BOOKKEEP);
	fake_gpu_exec_window(vm, &job->fence);
	spin_lock_irq(&q->lock);
	/*
	 * A waiter may have found the fence in the resv and asked for the
	 * preemption already: enable_signaling() ran, under this lock, while
	 * the job was on no list. It made every earlier job runnable; this
	 * one is too.
	 */
	if (preempt && !test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT, &job->fence.flags)) {
		list_add_tail(&job->link, &q->waiting);
	} else {
		job->ready = ktime_get();
		list_add_tail(&job->link, &q->runnable);
		queue_work(vm->dev->job_wq, &q->ring);
	}
	spin_unlock_irq(&q->lock);
	up_read(&vm->notifier_lock);
	dma_resv_unlock(&vm->resv);
	return 0;
}
EXPORT_SYMBOL_GPL(fake_gpu_queue_submit);

/**
 * fake_gpu_exec_window() - a job's fence is published, the job not queued
 * @vm: the job's VM, its resv lock and notifier lock (read) held
 * @fence: the job's fence, in the VM's resv, on none of its queue's lists
 *
 * Whoever reads the resv without its lock (a notifier, a wait) may find
 * @fence now and wait for it, preempt it, or hold a reference. Does
 * nothing; a KUnit test redirects it (a static stub) to act in the window.
 */
void fake_gpu_exec_window(struct fake_gpu_vm *vm, struct dma_fence *fence)
{
	KUNIT_STATIC_STUB_REDIRECT(fake_gpu_exec_window, vm, fence);
}

/*
 * Destroy a queue of a VM being destroyed, after all its jobs signalled:
 * the ring may still be dropping its last job reference.
 */
void fake_gpu_queue_destroy(struct fake_gpu_queue *q)
{
	flush_work(&q->ring);
	WARN_ON(!list_empty(&q->waiting) || !list_empty(&q->runnable));
	list_del(&q->vm_link);
	kref_put(&q->ref, fake_gpu_queue_free);
}
