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

/* The name of each counter, in debugfs' fake_gpu/gpuN/stats. */
const char * const fake_gpu_stat_names[FAKE_GPU_NR_STATS] = {
	[FAKE_GPU_STAT_INVAL_SUBMITTED] = "inval_submitted",
	[FAKE_GPU_STAT_INVAL_COMPLETED] = "inval_completed",
	[FAKE_GPU_STAT_DEFERRED_JOBS] = "deferred_jobs",
	[FAKE_GPU_STAT_DEFERRED_TLB] = "deferred_tlb",
	[FAKE_GPU_STAT_DEFERRED_OVERLAP] = "deferred_overlap",
	[FAKE_GPU_STAT_SYNC_BUSY] = "sync_busy",
	[FAKE_GPU_STAT_SYNC_IDLE] = "sync_idle",
	[FAKE_GPU_STAT_SYNC_NO_FINISH] = "sync_no_finish",
	[FAKE_GPU_STAT_SYNC_NO_FENCE] = "sync_no_fence",
	[FAKE_GPU_STAT_SINGLE_PASS] = "single_pass",
	[FAKE_GPU_STAT_NONBLOCK_REFUSED] = "nonblock_refused",
	[FAKE_GPU_STAT_FINISHES] = "finishes",
	[FAKE_GPU_STAT_GPU_FAULTS] = "gpu_faults",
	[FAKE_GPU_STAT_STALE_DETECTED] = "stale_detected",
	[FAKE_GPU_STAT_STALE_ACCESS] = "stale_access",
	[FAKE_GPU_STAT_LAST_START_SEQ] = "last_start_seq",
	[FAKE_GPU_STAT_LAST_FINISH_SEQ] = "last_finish_seq",
};
EXPORT_SYMBOL_GPL(fake_gpu_stat_names);

/**
 * fake_gpu_dev_stats() - snapshot a device's counters
 * @dev: the device
 * @st: filled with the counters
 */
void fake_gpu_dev_stats(struct fake_gpu_dev *dev, struct fake_gpu_stats *st)
{
	int i;

	for (i = 0; i < FAKE_GPU_NR_STATS; i++)
		st->v[i] = atomic64_read(&dev->stats[i]);
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
	int i;

	fake_gpu_dev_stats(m->private, &st);
	for (i = 0; i < FAKE_GPU_NR_STATS; i++)
		seq_printf(m, "%s %llu\n", fake_gpu_stat_names[i], st.v[i]);
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
