// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu VMs: one per (device, mm), with the notifier lock, the dma_resv
 * holding the fences of the jobs of its exec queues, the repin list and the
 * finish pool.
 */
#include <linux/idr.h>
#include <linux/mempool.h>
#include <linux/rculist.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "fake_gpu_internal.h"

static DEFINE_IDA(fake_gpu_asid_ida);

/**
 * fake_gpu_vm_submit_job() - run an emulated GPU job on a VM's first queue
 * @vm: the VM
 * @duration_us: as for fake_gpu_queue_submit()
 * @fence: if not NULL, receives a reference to the job's fence
 *
 * Return: as fake_gpu_queue_submit().
 */
int fake_gpu_vm_submit_job(struct fake_gpu_vm *vm, u32 duration_us,
			   struct dma_fence **fence)
{
	return fake_gpu_queue_submit(vm->queue, duration_us, fence);
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
 * A finish structure from the VM's mempool, or NULL; never sleeps. The
 * pool keeps FAKE_GPU_FINISH_POOL of them in reserve for when a GFP_NOWAIT
 * allocation fails, as 0001's kernel-doc suggests; KASAN poisons those in
 * reserve, so a finish used after fake_gpu_pool_put() is reported either
 * way.
 */
struct fake_gpu_finish *fake_gpu_pool_get(struct fake_gpu_vm *vm)
{
	struct fake_gpu_finish *f;

#ifdef CONFIG_FAULT_INJECTION
	if (should_fail(&fake_gpu_finish_fail, sizeof(*f)))
		return NULL;
#endif
	f = mempool_alloc(vm->finish_pool, GFP_NOWAIT | __GFP_NOWARN);
	/*
	 * Canary "kmsan": the finish's flags are left as the allocator gave
	 * them, and a first pass that defers to the jobs sets none, so the
	 * finish tests an uninitialised overlap flag.
	 */
	if (f && !fake_gpu_canary(FAKE_GPU_CANARY_KMSAN))
		memset(f, 0, sizeof(*f));
	return f;
}

void fake_gpu_pool_put(struct fake_gpu_vm *vm, struct fake_gpu_finish *f)
{
	mempool_free(f, vm->finish_pool);
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
 * Return: the VM, or ERR_PTR(-EINVAL) for a bad argument (an unknown flag,
 * FAKE_GPU_VM_TLB_OVERLAP without two-pass fault mode), or -ENOMEM.
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
	/* Overlapping needs a second pass and a TLB invalidation to overlap. */
	if ((flags & FAKE_GPU_VM_TLB_OVERLAP) &&
	    (mode != FAKE_GPU_TWO_PASS || !(flags & FAKE_GPU_VM_FAULT_MODE)))
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
	INIT_LIST_HEAD(&vm->queues);
	spin_lock_init(&vm->repin_lock);
	INIT_LIST_HEAD(&vm->repin_list);
	INIT_LIST_HEAD(&vm->userptrs);
	if (flags & FAKE_GPU_VM_FINISH_POOL) {
		vm->finish_pool = mempool_create_kmalloc_pool(FAKE_GPU_FINISH_POOL,
							      sizeof(struct fake_gpu_finish));
		if (!vm->finish_pool)
			goto err;
	}
	vm->queue = fake_gpu_queue_create(vm);
	if (IS_ERR(vm->queue))
		goto err;
	fake_gpu_vm_prime_lockdep(vm);
	return vm;

err:
	mempool_destroy(vm->finish_pool);
	dma_resv_fini(&vm->resv);
	mmdrop(mm);
	ida_free(&fake_gpu_asid_ida, vm->asid);
	kfree(vm);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_GPL(fake_gpu_vm_create);

/**
 * fake_gpu_vm_destroy() - destroy a VM, its userptrs and its queues, whose
 * jobs it waits for
 * @vm: the VM
 */
void fake_gpu_vm_destroy(struct fake_gpu_vm *vm)
{
	struct fake_gpu_userptr *uptr, *next;
	struct fake_gpu_queue *q, *qnext;

	list_for_each_entry_safe(uptr, next, &vm->userptrs, vm_link) {
		fake_gpu_userptr_destroy(uptr);
		list_del_rcu(&uptr->vm_link);
		/* Jobs may still be walking past it. */
		kfree_rcu(uptr, rcu);
	}
	/* The newest job of each queue is in the resv: all its jobs end. */
	fake_gpu_vm_wait_jobs(vm);
	list_for_each_entry_safe(q, qnext, &vm->queues, vm_link)
		fake_gpu_queue_destroy(q);
	/* Every finish came back: the notifiers are removed. */
	mempool_destroy(vm->finish_pool);
	dma_resv_fini(&vm->resv);
	mutex_destroy(&vm->lock);
	mmdrop(vm->mm);
	ida_free(&fake_gpu_asid_ida, vm->asid);
	kfree(vm);
}
EXPORT_SYMBOL_GPL(fake_gpu_vm_destroy);
