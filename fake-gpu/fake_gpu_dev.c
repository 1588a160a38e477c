// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu devices: creation, counters and their debugfs files.
 */
#include <linux/debugfs.h>
#include <linux/idr.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "fake_gpu_internal.h"

/* Orders first and second passes across all devices. */
atomic64_t fake_gpu_pass_seq = ATOMIC64_INIT(0);

/* Built in, as are the suites that set it: no export needed. */
#ifdef CONFIG_FAULT_INJECTION
DECLARE_FAULT_ATTR(fake_gpu_finish_fail);
#endif

static DEFINE_IDA(fake_gpu_ida);
static struct dentry *fake_gpu_debugfs_root;

/**
 * fake_gpu_dev_stats() - snapshot a device's counters
 * @dev: the device
 * @st: filled with the counters
 */
void fake_gpu_dev_stats(struct fake_gpu_dev *dev, struct fake_gpu_stats *st)
{
	st->inval_submitted = atomic64_read(&dev->stats.inval_submitted);
	st->inval_completed = atomic64_read(&dev->stats.inval_completed);
	st->deferred_jobs = atomic64_read(&dev->stats.deferred_jobs);
	st->deferred_tlb = atomic64_read(&dev->stats.deferred_tlb);
	st->deferred_overlap = atomic64_read(&dev->stats.deferred_overlap);
	st->sync_busy = atomic64_read(&dev->stats.sync_busy);
	st->sync_idle = atomic64_read(&dev->stats.sync_idle);
	st->sync_no_finish = atomic64_read(&dev->stats.sync_no_finish);
	st->sync_no_fence = atomic64_read(&dev->stats.sync_no_fence);
	st->single_pass = atomic64_read(&dev->stats.single_pass);
	st->nonblock_refused = atomic64_read(&dev->stats.nonblock_refused);
	st->finishes = atomic64_read(&dev->stats.finishes);
	st->gpu_faults = atomic64_read(&dev->stats.gpu_faults);
	st->stale_detected = atomic64_read(&dev->stats.stale_detected);
	st->stale_access = atomic64_read(&dev->stats.stale_access);
	st->last_start_seq = atomic64_read(&dev->stats.last_start_seq);
	st->last_finish_seq = atomic64_read(&dev->stats.last_finish_seq);
}
EXPORT_SYMBOL_GPL(fake_gpu_dev_stats);

/**
 * fake_gpu_dev_index() - the device's number, N in debugfs fake_gpu/gpuN
 * @dev: the device
 *
 * Return: the index.
 */
unsigned int fake_gpu_dev_index(struct fake_gpu_dev *dev)
{
	return dev->index;
}
EXPORT_SYMBOL_GPL(fake_gpu_dev_index);

static int fake_gpu_stats_show(struct seq_file *m, void *unused)
{
	struct fake_gpu_stats st;

	fake_gpu_dev_stats(m->private, &st);
	seq_printf(m, "inval_submitted %llu\ninval_completed %llu\n"
		   "deferred_jobs %llu\ndeferred_tlb %llu\ndeferred_overlap %llu\n"
		   "sync_busy %llu\n"
		   "sync_idle %llu\nsync_no_finish %llu\nsync_no_fence %llu\n"
		   "single_pass %llu\nnonblock_refused %llu\nfinishes %llu\n"
		   "gpu_faults %llu\nstale_detected %llu\nstale_access %llu\n",
		   st.inval_submitted, st.inval_completed, st.deferred_jobs,
		   st.deferred_tlb, st.deferred_overlap, st.sync_busy, st.sync_idle,
		   st.sync_no_finish, st.sync_no_fence, st.single_pass,
		   st.nonblock_refused, st.finishes, st.gpu_faults,
		   st.stale_detected, st.stale_access);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(fake_gpu_stats);

/**
 * fake_gpu_dev_set_test_flags() - switch test-only misbehaviour on or off
 * @dev: the device
 * @flags: FAKE_GPU_TEST_* flags; 0 for normal operation
 */
void fake_gpu_dev_set_test_flags(struct fake_gpu_dev *dev, unsigned long flags)
{
	WRITE_ONCE(dev->test_flags, flags);
}
EXPORT_SYMBOL_GPL(fake_gpu_dev_set_test_flags);

/**
 * fake_gpu_dev_flush() - wait for the work the device has been given
 * @dev: the device
 *
 * Returns once every TLB invalidation submitted so far has completed and
 * every job made runnable so far has ended: a test's way to wait for the
 * device without sleeping for a guessed time. Jobs that wait for their
 * preemption are not waited for.
 */
void fake_gpu_dev_flush(struct fake_gpu_dev *dev)
{
	/* Jobs' ends queue overlapped submissions, which queue invalidations. */
	flush_workqueue(dev->job_wq);
	flush_workqueue(dev->inval_wq);
	fake_gpu_tlb_flush(dev);
}
EXPORT_SYMBOL_GPL(fake_gpu_dev_flush);

static void fake_gpu_dev_destroy(struct fake_gpu_dev *dev)
{
	debugfs_remove_recursive(dev->debugfs);
	destroy_workqueue(dev->job_wq);
	destroy_workqueue(dev->inval_wq);
	/* Their fences may outlive it, its timer and pending list may not. */
	fake_gpu_tlb_fini(dev);
	ida_free(&fake_gpu_ida, dev->index);
	kfree(dev);
}

static struct fake_gpu_dev *fake_gpu_dev_create(u32 latency_us, u32 jitter_us)
{
	struct fake_gpu_dev *dev;
	char name[16];
	int index;

	dev = kzalloc_obj(*dev, GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	index = ida_alloc(&fake_gpu_ida, GFP_KERNEL);
	if (index < 0) {
		kfree(dev);
		return ERR_PTR(index);
	}
	dev->index = index;
	dev->latency_us = latency_us;
	dev->jitter_us = jitter_us;
	fake_gpu_tlb_init(dev);
	dev->fence_context = dma_fence_context_alloc(1);
	/* One ring per exec queue, in parallel; their fences are waited in reclaim. */
	dev->job_wq = alloc_workqueue("fake-gpu%d-jobs", WQ_UNBOUND | WQ_MEM_RECLAIM,
				      0, index);
	/* The submissions of overlapped invalidations, which finishes wait for. */
	dev->inval_wq = alloc_workqueue("fake-gpu%d-inval",
					WQ_UNBOUND | WQ_HIGHPRI | WQ_MEM_RECLAIM,
					0, index);
	if (!dev->job_wq || !dev->inval_wq) {
		if (dev->job_wq)
			destroy_workqueue(dev->job_wq);
		if (dev->inval_wq)
			destroy_workqueue(dev->inval_wq);
		ida_free(&fake_gpu_ida, index);
		kfree(dev);
		return ERR_PTR(-ENOMEM);
	}
	snprintf(name, sizeof(name), "gpu%d", index);
	if (!fake_gpu_debugfs_root)
		fake_gpu_debugfs_root = debugfs_create_dir("fake_gpu", NULL);
	dev->debugfs = debugfs_create_dir(name, fake_gpu_debugfs_root);
	debugfs_create_file("stats", 0444, dev->debugfs, dev,
			    &fake_gpu_stats_fops);
	return dev;
}

/**
 * fake_gpu_devs_create() - create fake GPUs
 * @count: number of devices, at least one
 * @latency_us: fixed part of each TLB invalidation's latency
 * @jitter_us: upper bound of a random extra latency per invalidation
 * @devs: array of @count entries, filled with the devices
 *
 * Return: 0, -EINVAL for no devices or a total latency above
 * FAKE_GPU_MAX_LATENCY_US (nothing is created then), or -ENOMEM.
 */
int fake_gpu_devs_create(unsigned int count, u32 latency_us, u32 jitter_us,
			 struct fake_gpu_dev **devs)
{
	unsigned int i;
	u32 total;

	if (!count || !devs)
		return -EINVAL;
	if (check_add_overflow(latency_us, jitter_us, &total) ||
	    total > FAKE_GPU_MAX_LATENCY_US)
		return -EINVAL;

	for (i = 0; i < count; i++) {
		devs[i] = fake_gpu_dev_create(latency_us, jitter_us);
		if (IS_ERR(devs[i])) {
			int err = PTR_ERR(devs[i]);

			fake_gpu_devs_destroy(i, devs);
			return err;
		}
	}
	return 0;
}
EXPORT_SYMBOL_GPL(fake_gpu_devs_create);

/**
 * fake_gpu_devs_destroy() - destroy fake GPUs, after all their VMs
 * @count: number of devices
 * @devs: the devices
 */
void fake_gpu_devs_destroy(unsigned int count, struct fake_gpu_dev **devs)
{
	unsigned int i;

	for (i = 0; i < count; i++) {
		fake_gpu_dev_destroy(devs[i]);
		devs[i] = NULL;
	}
}
EXPORT_SYMBOL_GPL(fake_gpu_devs_destroy);
