// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu VMs: one per (device, mm), with the notifier lock, the dma_resv
 * holding the fences of emulated GPU jobs, the repin list and the finish
 * pool.
 */
#include <linux/hrtimer.h>
#include <linux/idr.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "fake_gpu_internal.h"

static DEFINE_IDA(fake_gpu_asid_ida);

struct fake_gpu_job {
	struct dma_fence fence;
	struct work_struct work;
	u32 duration_us;
	ktime_t deadline;
};

static const char *fake_gpu_job_driver_name(struct dma_fence *fence)
{
	return "fake-gpu";
}

static const char *fake_gpu_job_timeline_name(struct dma_fence *fence)
{
	return "job";
}

static const struct dma_fence_ops fake_gpu_job_fence_ops = {
	.get_driver_name = fake_gpu_job_driver_name,
	.get_timeline_name = fake_gpu_job_timeline_name,
};

/* A preempt-style job: enabling signalling requests the preemption. */
static bool fake_gpu_job_enable_signaling(struct dma_fence *fence)
{
	struct fake_gpu_job *job = container_of(fence, struct fake_gpu_job, fence);

	job->deadline = ktime_add_us(ktime_get(), job->duration_us);
	queue_work(system_unbound_wq, &job->work);
	return true;
}

static const struct dma_fence_ops fake_gpu_preempt_job_fence_ops = {
	.get_driver_name = fake_gpu_job_driver_name,
	.get_timeline_name = fake_gpu_job_timeline_name,
	.enable_signaling = fake_gpu_job_enable_signaling,
};

/* Jobs have their own lock: a job may outlive its VM's other state. */
static DEFINE_SPINLOCK(fake_gpu_job_lock);

static void fake_gpu_job_work(struct work_struct *work)
{
	struct fake_gpu_job *job = container_of(work, struct fake_gpu_job, work);
	bool cookie;

	cookie = dma_fence_begin_signalling();
	while (ktime_before(ktime_get(), job->deadline)) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		schedule_hrtimeout_range(&job->deadline, 0, HRTIMER_MODE_ABS);
	}
	dma_fence_signal(&job->fence);
	dma_fence_end_signalling(cookie);
	dma_fence_put(&job->fence);
}

/**
 * fake_gpu_vm_submit_job() - run an emulated GPU job on a VM
 * @vm: the VM
 * @duration_us: how long the job runs, at most FAKE_GPU_MAX_JOB_US
 * @fence: if not NULL, receives a reference to the job's fence
 *
 * The job's fence is added to the VM's dma_resv with BOOKKEEP usage, which
 * the notifier waits for, and signalled by a workqueue after @duration_us:
 * from now, or with FAKE_GPU_VM_PREEMPT_JOBS from when signalling is
 * enabled on it (the notifier's preemption request).
 *
 * Return: 0, -EINVAL for a too long job, or -ENOMEM.
 */
int fake_gpu_vm_submit_job(struct fake_gpu_vm *vm, u32 duration_us,
			   struct dma_fence **fence)
{
	struct fake_gpu_job *job;
	bool preempt;
	int ret;

	if (duration_us > FAKE_GPU_MAX_JOB_US)
		return -EINVAL;
	job = kzalloc_obj(*job, GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	preempt = vm->flags & FAKE_GPU_VM_PREEMPT_JOBS;
	dma_fence_init(&job->fence, preempt ? &fake_gpu_preempt_job_fence_ops :
		       &fake_gpu_job_fence_ops, &fake_gpu_job_lock,
		       vm->job_context, atomic64_inc_return(&vm->job_seqno));
	INIT_WORK(&job->work, fake_gpu_job_work);
	job->duration_us = duration_us;
	job->deadline = ktime_add_us(ktime_get(), duration_us);

	dma_resv_lock(&vm->resv, NULL);
	ret = dma_resv_reserve_fences(&vm->resv, 1);
	if (!ret)
		dma_resv_add_fence(&vm->resv, &job->fence, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(&vm->resv);
	if (ret) {
		dma_fence_put(&job->fence);
		return ret;
	}
	if (fence)
		*fence = dma_fence_get(&job->fence);
	/* The worker's reference is the one from dma_fence_init(). */
	if (!preempt)
		queue_work(system_unbound_wq, &job->work);
	return 0;
}
EXPORT_SYMBOL_GPL(fake_gpu_vm_submit_job);

/*
 * Make the VM's job fences signal as soon as possible and report whether
 * they all have, as xe's first pass does with its VM's fences.
 */
bool fake_gpu_vm_jobs_done(struct fake_gpu_vm *vm)
{
	struct dma_resv_iter cursor;
	struct dma_fence *fence;

	dma_resv_iter_begin(&cursor, &vm->resv, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_for_each_fence_unlocked(&cursor, fence)
		dma_fence_enable_signaling(fence);
	dma_resv_iter_end(&cursor);
	return dma_resv_test_signaled(&vm->resv, DMA_RESV_USAGE_BOOKKEEP);
}

void fake_gpu_vm_wait_jobs(struct fake_gpu_vm *vm)
{
	dma_resv_wait_timeout(&vm->resv, DMA_RESV_USAGE_BOOKKEEP, false,
			      MAX_SCHEDULE_TIMEOUT);
}

/*
 * A finish structure from the VM's pool, or NULL; never sleeps. The pool
 * is a cap of FAKE_GPU_FINISH_POOL outstanding GFP_NOWAIT allocations, so
 * a structure used after fake_gpu_pool_put() is a use-after-free KASAN
 * sees.
 */
struct fake_gpu_pool_finish *fake_gpu_pool_get(struct fake_gpu_vm *vm)
{
	struct fake_gpu_pool_finish *f;

#ifdef CONFIG_FAULT_INJECTION
	if (should_fail(&fake_gpu_finish_fail, sizeof(*f)))
		return NULL;
#endif
	if (atomic_inc_return(&vm->pool_used) > FAKE_GPU_FINISH_POOL)
		goto fail;
	f = kzalloc_obj(*f, GFP_NOWAIT | __GFP_NOWARN);
	if (!f)
		goto fail;
	return f;
fail:
	atomic_dec(&vm->pool_used);
	return NULL;
}

void fake_gpu_pool_put(struct fake_gpu_vm *vm, struct fake_gpu_pool_finish *f)
{
	kfree(f);
	atomic_dec(&vm->pool_used);
}

/*
 * Real GPU drivers take their notifier lock in the notifier, which reclaim
 * can call. Tell lockdep now, so a reclaim-unsafe step under the lock (an
 * allocation that may sleep, say) is reported even if no reclaim happens
 * during the test.
 */
static void fake_gpu_vm_prime_lockdep(struct fake_gpu_vm *vm)
{
	if (!IS_ENABLED(CONFIG_LOCKDEP))
		return;
	fs_reclaim_acquire(GFP_KERNEL);
	down_write(&vm->notifier_lock);
	up_write(&vm->notifier_lock);
	fs_reclaim_release(GFP_KERNEL);
}

/**
 * fake_gpu_vm_create() - create a VM mirroring @mm on @dev
 * @dev: the device
 * @mm: the address space; the VM holds an mm_count reference
 * @mode: FAKE_GPU_SINGLE_PASS or FAKE_GPU_TWO_PASS
 * @flags: FAKE_GPU_VM_* flags
 *
 * Return: the VM, or ERR_PTR(-EINVAL) for a bad argument, or -ENOMEM.
 */
struct fake_gpu_vm *fake_gpu_vm_create(struct fake_gpu_dev *dev,
				       struct mm_struct *mm,
				       enum fake_gpu_mode mode,
				       unsigned int flags)
{
	struct fake_gpu_vm *vm;
	int asid;

	if (!dev || !mm || (flags & ~FAKE_GPU_VM_FLAGS) ||
	    (mode != FAKE_GPU_SINGLE_PASS && mode != FAKE_GPU_TWO_PASS))
		return ERR_PTR(-EINVAL);
	vm = kzalloc_obj(*vm, GFP_KERNEL);
	if (!vm)
		return ERR_PTR(-ENOMEM);
	asid = ida_alloc_min(&fake_gpu_asid_ida, 1, GFP_KERNEL);
	if (asid < 0) {
		kfree(vm);
		return ERR_PTR(asid);
	}
	vm->asid = asid;
	vm->dev = dev;
	vm->mm = mm;
	mmgrab(mm);
	vm->mode = mode;
	vm->flags = flags;
	mutex_init(&vm->lock);
	init_rwsem(&vm->notifier_lock);
	dma_resv_init(&vm->resv);
	vm->job_context = dma_fence_context_alloc(1);
	spin_lock_init(&vm->repin_lock);
	INIT_LIST_HEAD(&vm->repin_list);
	INIT_LIST_HEAD(&vm->userptrs);
	fake_gpu_vm_prime_lockdep(vm);
	return vm;
}
EXPORT_SYMBOL_GPL(fake_gpu_vm_create);

/**
 * fake_gpu_vm_destroy() - destroy a VM, its userptrs and wait for its jobs
 * @vm: the VM
 */
void fake_gpu_vm_destroy(struct fake_gpu_vm *vm)
{
	struct fake_gpu_userptr *uptr, *next;

	list_for_each_entry_safe(uptr, next, &vm->userptrs, vm_link) {
		fake_gpu_userptr_destroy(uptr);
		list_del(&uptr->vm_link);
		kfree(uptr);
	}
	fake_gpu_vm_wait_jobs(vm);
	dma_resv_fini(&vm->resv);
	mutex_destroy(&vm->lock);
	mmdrop(vm->mm);
	ida_free(&fake_gpu_asid_ida, vm->asid);
	kfree(vm);
}
EXPORT_SYMBOL_GPL(fake_gpu_vm_destroy);
