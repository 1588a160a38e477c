// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu TLB and TLB invalidation.
 *
 * The TLB caches translations filled by GPU reads. Zapping PTEs does not
 * touch it: only a completed invalidation clears its entries. An
 * invalidation is a dma_fence from the device's fence context, executed by
 * the device's ordered workqueue: the worker sleeps until the invalidation's
 * deadline (submit time + latency + jitter) on a zero-slack hrtimer, clears
 * the matching entries and signals the fence, all inside a dma-fence
 * signalling critical section so lockdep checks that path.
 *
 * GPU reads through the TLB hold tlb_lock, so a clear waits for reads in
 * flight, as a hardware invalidation waits for outstanding accesses.
 */
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "fake_gpu_internal.h"

struct fake_gpu_tlb_inval {
	struct dma_fence fence;
	struct work_struct work;
	struct fake_gpu_dev *dev;
	u32 asid;
	unsigned long start;
	unsigned long end;
	ktime_t deadline;
};

static const char *fake_gpu_fence_driver_name(struct dma_fence *fence)
{
	return "fake-gpu";
}

static const char *fake_gpu_tlb_timeline_name(struct dma_fence *fence)
{
	return "tlb-inval";
}

static const struct dma_fence_ops fake_gpu_tlb_fence_ops = {
	.get_driver_name = fake_gpu_fence_driver_name,
	.get_timeline_name = fake_gpu_tlb_timeline_name,
};

static void fake_gpu_tlb_clear(struct fake_gpu_dev *dev, u32 asid,
			       unsigned long start, unsigned long end)
{
	unsigned int i;

	spin_lock(&dev->tlb_lock);
	for (i = 0; i < FAKE_GPU_TLB_ENTRIES; i++) {
		struct fake_gpu_tlb_entry *e = &dev->tlb[i];

		if (e->valid && e->asid == asid && e->va >= start && e->va < end)
			e->valid = false;
	}
	spin_unlock(&dev->tlb_lock);
}

static ktime_t fake_gpu_tlb_deadline(struct fake_gpu_dev *dev)
{
	u32 us = dev->latency_us;

	if (dev->jitter_us)
		us += get_random_u32_below(dev->jitter_us + 1);
	return ktime_add_us(ktime_get(), us);
}

/* Sleep until @deadline without timer slack: the model's latencies. */
void fake_gpu_sleep_until(ktime_t deadline)
{
	while (ktime_before(ktime_get(), deadline)) {
		set_current_state(TASK_UNINTERRUPTIBLE);
		schedule_hrtimeout_range(&deadline, 0, HRTIMER_MODE_ABS);
	}
}

static void fake_gpu_tlb_inval_work(struct work_struct *work)
{
	struct fake_gpu_tlb_inval *inval =
		container_of(work, struct fake_gpu_tlb_inval, work);
	struct fake_gpu_dev *dev = inval->dev;
	bool cookie;

	cookie = dma_fence_begin_signalling();
	fake_gpu_sleep_until(inval->deadline);
	fake_gpu_tlb_clear(dev, inval->asid, inval->start, inval->end);
	atomic64_inc(&dev->stats.inval_completed);
	if (!fake_gpu_canary(FAKE_GPU_CANARY_HANG))
		dma_fence_signal(&inval->fence);
	dma_fence_end_signalling(cookie);
	dma_fence_put(&inval->fence);
}

/**
 * fake_gpu_tlb_inval_submit() - start invalidating a range of the TLB
 * @dev: the device
 * @asid: address space of the range
 * @start: first virtual address
 * @end: end of the range, exclusive
 *
 * Callable from a notifier: the allocation does not enter reclaim. If it
 * fails, the invalidation is done before returning and the result is NULL.
 *
 * Return: a fence that signals when the entries are gone, or NULL.
 */
struct dma_fence *fake_gpu_tlb_inval_submit(struct fake_gpu_dev *dev, u32 asid,
					    unsigned long start,
					    unsigned long end)
{
	struct fake_gpu_tlb_inval *inval;
	unsigned long flags;

	atomic64_inc(&dev->stats.inval_submitted);
	inval = kzalloc_obj(*inval, GFP_NOWAIT | __GFP_NOWARN);
	if (!inval) {
		atomic64_inc(&dev->stats.sync_no_fence);
		fake_gpu_sleep_until(fake_gpu_tlb_deadline(dev));
		fake_gpu_tlb_clear(dev, asid, start, end);
		atomic64_inc(&dev->stats.inval_completed);
		return NULL;
	}
	INIT_WORK(&inval->work, fake_gpu_tlb_inval_work);
	inval->dev = dev;
	inval->asid = asid;
	inval->start = start;
	inval->end = end;
	inval->deadline = fake_gpu_tlb_deadline(dev);

	/*
	 * The ordered workqueue signals in queueing order: hand out the seqno
	 * in that order too, or two submitters could leave a later seqno
	 * signalling first.
	 */
	spin_lock_irqsave(&dev->fence_lock, flags);
	dma_fence_init(&inval->fence, &fake_gpu_tlb_fence_ops, &dev->fence_lock,
		       dev->fence_context, ++dev->fence_seqno);
	/* The worker's reference; the caller keeps the one from init. */
	dma_fence_get(&inval->fence);
	queue_work(dev->wq, &inval->work);
	spin_unlock_irqrestore(&dev->fence_lock, flags);
	return &inval->fence;
}

/* Wait for and drop a fence from fake_gpu_tlb_inval_submit(); NULL is done. */
void fake_gpu_tlb_inval_wait(struct fake_gpu_dev *dev, struct dma_fence *fence)
{
	if (!fence)
		return;
	if (!(dev->test_flags & FAKE_GPU_TEST_SKIP_TLB_WAIT) &&
	    !fake_gpu_canary(FAKE_GPU_CANARY_STALE))
		dma_fence_wait(fence, false);
	if (!fake_gpu_canary(FAKE_GPU_CANARY_LEAK))
		dma_fence_put(fence);
}

/* Cache a translation, replacing the oldest entry. */
void fake_gpu_tlb_fill_locked(struct fake_gpu_dev *dev, u32 asid,
			      unsigned long va, unsigned long pfn)
{
	struct fake_gpu_tlb_entry *e;

	lockdep_assert_held(&dev->tlb_lock);
	e = &dev->tlb[dev->tlb_next];
	dev->tlb_next = (dev->tlb_next + 1) % FAKE_GPU_TLB_ENTRIES;
	e->asid = asid;
	e->va = va;
	e->pfn = pfn;
	e->valid = true;
}

static struct fake_gpu_tlb_entry *
fake_gpu_tlb_lookup(struct fake_gpu_dev *dev, u32 asid, unsigned long va)
{
	unsigned int i;

	lockdep_assert_held(&dev->tlb_lock);
	for (i = 0; i < FAKE_GPU_TLB_ENTRIES; i++) {
		struct fake_gpu_tlb_entry *e = &dev->tlb[i];

		if (e->valid && e->asid == asid && e->va == va)
			return e;
	}
	return NULL;
}

/* The cached translation of (@asid, @va): true and *@pfn, or false on a miss. */
bool fake_gpu_tlb_lookup_locked(struct fake_gpu_dev *dev, u32 asid,
				unsigned long va, unsigned long *pfn)
{
	struct fake_gpu_tlb_entry *e = fake_gpu_tlb_lookup(dev, asid, va);

	if (e)
		*pfn = e->pfn;
	return e;
}

/*
 * Oracle for one page: the number of TLB entries for (@asid, @va) that do
 * not translate to @pfn, or any entry if the CPU maps nothing there
 * (!@mapped). Compares pfns only, never reads the page.
 */
int fake_gpu_tlb_check(struct fake_gpu_dev *dev, u32 asid, unsigned long va,
		       bool mapped, unsigned long pfn)
{
	unsigned int i;
	int stale = 0;

	spin_lock(&dev->tlb_lock);
	for (i = 0; i < FAKE_GPU_TLB_ENTRIES; i++) {
		struct fake_gpu_tlb_entry *e = &dev->tlb[i];

		if (e->valid && e->asid == asid && e->va == va &&
		    (!mapped || e->pfn != pfn))
			stale++;
	}
	spin_unlock(&dev->tlb_lock);
	return stale;
}
