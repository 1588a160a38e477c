// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu TLB and TLB invalidation.
 *
 * The TLB caches translations filled by GPU reads. Zapping PTEs does not
 * touch it: only a completed invalidation clears its entries. An
 * invalidation is a dma_fence from the device's fence context, completed
 * as hardware completes it: submitting it (the command to the GPU) queues
 * it on the device and returns; at its deadline (submit time + latency +
 * jitter) the device's hrtimer fires and its callback, as a completion
 * interrupt's handler, clears the matching entries and signals the fence.
 * No thread sleeps or wakes per invalidation, so N devices cost their
 * timers and nothing else. The timer is not HRTIMER_MODE_HARD: on
 * PREEMPT_RT its callback then runs in softirq context, as an interrupt
 * handler is threaded there, where the fence's spinlock_t may be taken
 * (lockdep's wait-context check reported the hard mode on x86_64).
 *
 * A fence context signals in order: the callback completes the pending
 * invalidations in submission order, and one to which jitter gave an
 * earlier deadline than its predecessor's completes with it.
 *
 * GPU reads through the TLB hold tlb_lock, so a clear waits for reads in
 * flight, as a hardware invalidation waits for outstanding accesses. Both
 * locks are taken in the callback: every user disables interrupts.
 */
#include <linux/hrtimer.h>
#include <linux/mm.h>
#include <linux/prandom.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/wait.h>

#include "fake_gpu_internal.h"

struct fake_gpu_tlb_inval {
	struct dma_fence fence;
	struct list_head link;	/* in dev->tlb_pending, under dev->fence_lock */
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

/* The key of (@asid, @va) in the device's tlb_hash, which hashes it. */
static unsigned long fake_gpu_tlb_key(u32 asid, unsigned long va)
{
	return (va >> PAGE_SHIFT) ^ asid;
}

/*
 * Drop @e from the TLB and from the index: a lookup trusts the index. An
 * entry never filled is in no chain (the device is zeroed, so its node is
 * unhashed), and hash_del() then does nothing.
 */
static void fake_gpu_tlb_evict_locked(struct fake_gpu_tlb_entry *e)
{
	hash_del(&e->hash);
	e->valid = false;
}

static void fake_gpu_tlb_clear(struct fake_gpu_dev *dev, u32 asid,
			       unsigned long start, unsigned long end)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&dev->tlb_lock, flags);
	for (i = 0; i < FAKE_GPU_TLB_ENTRIES; i++) {
		struct fake_gpu_tlb_entry *e = &dev->tlb[i];

		if (e->valid && e->asid == asid && e->va >= start && e->va < end)
			fake_gpu_tlb_evict_locked(e);
	}
	spin_unlock_irqrestore(&dev->tlb_lock, flags);
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

/*
 * Complete, in order, the pending invalidations whose deadline is not
 * after @now, moving them to @done (their references are the caller's to
 * drop, outside the lock). Returns the first deadline still pending, or 0.
 */
static ktime_t fake_gpu_tlb_complete_locked(struct fake_gpu_dev *dev,
					    ktime_t now, struct list_head *done)
{
	struct fake_gpu_tlb_inval *inval, *next;

	lockdep_assert_held(&dev->fence_lock);
	list_for_each_entry_safe(inval, next, &dev->tlb_pending, link) {
		if (ktime_after(inval->deadline, now))
			return inval->deadline;
		fake_gpu_tlb_clear(dev, inval->asid, inval->start, inval->end);
		atomic64_inc(&dev->stats[FAKE_GPU_STAT_INVAL_COMPLETED]);
		if (!fake_gpu_canary(FAKE_GPU_CANARY_HANG))
			dma_fence_signal_locked(&inval->fence);
		list_move_tail(&inval->link, done);
	}
	/* Idle: fake_gpu_tlb_flush() may return. */
	wake_up_all(&dev->tlb_idle);
	return 0;
}

static void fake_gpu_tlb_put_done(struct list_head *done)
{
	struct fake_gpu_tlb_inval *inval, *next;

	list_for_each_entry_safe(inval, next, done, link)
		dma_fence_put(&inval->fence);
}

/* The device's completion interrupt: every invalidation due is done. */
static enum hrtimer_restart fake_gpu_tlb_timer_fn(struct hrtimer *timer)
{
	struct fake_gpu_dev *dev = container_of(timer, struct fake_gpu_dev,
						tlb_timer);
	enum hrtimer_restart ret = HRTIMER_NORESTART;
	unsigned long flags;
	ktime_t next;
	LIST_HEAD(done);

	spin_lock_irqsave(&dev->fence_lock, flags);
	next = fake_gpu_tlb_complete_locked(dev, ktime_get(), &done);
	/*
	 * Re-armed under fence_lock, which a submitter holds to see the list
	 * empty and start the timer: the two never both arm it.
	 */
	if (next) {
		hrtimer_set_expires(timer, next);
		ret = HRTIMER_RESTART;
	}
	spin_unlock_irqrestore(&dev->fence_lock, flags);
	fake_gpu_tlb_put_done(&done);
	return ret;
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
	ktime_t deadline = fake_gpu_tlb_deadline(dev);
	unsigned long flags;

	atomic64_inc(&dev->stats[FAKE_GPU_STAT_INVAL_SUBMITTED]);
	inval = kzalloc_obj(*inval, GFP_NOWAIT | __GFP_NOWARN);
	if (!inval) {
		atomic64_inc(&dev->stats[FAKE_GPU_STAT_SYNC_NO_FENCE]);
		fake_gpu_sleep_until(deadline);
		fake_gpu_tlb_clear(dev, asid, start, end);
		atomic64_inc(&dev->stats[FAKE_GPU_STAT_INVAL_COMPLETED]);
		return NULL;
	}
	inval->asid = asid;
	inval->start = start;
	inval->end = end;
	inval->deadline = deadline;

	/* Seqnos in list order: the order in which the callback signals. */
	spin_lock_irqsave(&dev->fence_lock, flags);
	dma_fence_init(&inval->fence, &fake_gpu_tlb_fence_ops, &dev->fence_lock,
		       dev->fence_context, ++dev->fence_seqno);
	/* The pending list's reference; the caller keeps the one from init. */
	dma_fence_get(&inval->fence);
	if (list_empty(&dev->tlb_pending))
		hrtimer_start(&dev->tlb_timer, deadline, HRTIMER_MODE_ABS);
	list_add_tail(&inval->link, &dev->tlb_pending);
	spin_unlock_irqrestore(&dev->fence_lock, flags);
	/* Running jobs touch memory until it completes (fake_gpu_queue.c). */
	wake_up_all(&dev->tlb_submitted);
	return &inval->fence;
}

static bool fake_gpu_tlb_idle(struct fake_gpu_dev *dev)
{
	unsigned long flags;
	bool idle;

	spin_lock_irqsave(&dev->fence_lock, flags);
	idle = list_empty(&dev->tlb_pending);
	spin_unlock_irqrestore(&dev->fence_lock, flags);
	return idle;
}

/* Whether an invalidation of @dev is in flight: its TLB may hold stale entries. */
bool fake_gpu_tlb_busy(struct fake_gpu_dev *dev)
{
	return !fake_gpu_tlb_idle(dev);
}

/* Wait until every invalidation submitted so far has completed. */
void fake_gpu_tlb_flush(struct fake_gpu_dev *dev)
{
	wait_event(dev->tlb_idle, fake_gpu_tlb_idle(dev));
}

/* Set up the device's invalidation engine (fake_gpu_dev_create()). */
void fake_gpu_tlb_init(struct fake_gpu_dev *dev)
{
	spin_lock_init(&dev->fence_lock);
	spin_lock_init(&dev->tlb_lock);
	hash_init(dev->tlb_hash);
	INIT_LIST_HEAD(&dev->tlb_pending);
	init_waitqueue_head(&dev->tlb_idle);
	init_waitqueue_head(&dev->tlb_submitted);
	hrtimer_setup(&dev->tlb_timer, fake_gpu_tlb_timer_fn, CLOCK_MONOTONIC,
		      HRTIMER_MODE_ABS);
}

/*
 * Before the device is freed: the pending invalidations complete, and the
 * callback that completed the last one has returned.
 */
void fake_gpu_tlb_fini(struct fake_gpu_dev *dev)
{
	fake_gpu_tlb_flush(dev);
	hrtimer_cancel(&dev->tlb_timer);
}

/* Wait for and drop a fence from fake_gpu_tlb_inval_submit(); NULL is done. */
void fake_gpu_tlb_inval_wait(struct fake_gpu_dev *dev, struct dma_fence *fence)
{
	if (!fence)
		return;
	if (!(dev->test_flags & FAKE_GPU_TEST_SKIP_TLB_WAIT))
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
	fake_gpu_tlb_evict_locked(e);
	e->asid = asid;
	e->va = va;
	e->pfn = pfn;
	e->valid = true;
	hash_add(dev->tlb_hash, &e->hash, fake_gpu_tlb_key(asid, va));
}

static struct fake_gpu_tlb_entry *
fake_gpu_tlb_lookup(struct fake_gpu_dev *dev, u32 asid, unsigned long va)
{
	struct fake_gpu_tlb_entry *e;

	lockdep_assert_held(&dev->tlb_lock);
	hash_for_each_possible(dev->tlb_hash, e, hash, fake_gpu_tlb_key(asid, va)) {
		if (e->asid == asid && e->va == va)
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
 * (!@mapped). Compares pfns only, never reads the page. Scans the entries
 * themselves, not the index, so an entry the index lost is still seen.
 */
int fake_gpu_tlb_check(struct fake_gpu_dev *dev, u32 asid, unsigned long va,
		       bool mapped, unsigned long pfn)
{
	unsigned int i, entries = FAKE_GPU_TLB_ENTRIES;
	unsigned long flags;
	int stale = 0;

	/*
	 * Canary "ubsan": one entry too far, still inside the device. The
	 * entries are indexed, not pointed to: &dev->tlb[i] one past the
	 * end is a valid pointer, which the bounds check lets through.
	 */
	if (fake_gpu_canary(FAKE_GPU_CANARY_UBSAN))
		entries++;
	spin_lock_irqsave(&dev->tlb_lock, flags);
	for (i = 0; i < entries; i++) {
		if (dev->tlb[i].valid && dev->tlb[i].asid == asid &&
		    dev->tlb[i].va == va && (!mapped || dev->tlb[i].pfn != pfn))
			stale++;
	}
	/*
	 * The index finds every valid entry, under its own key, and holds no
	 * other. One it lost would send the GPU to the PTEs past a
	 * translation it still caches, and no access would ever be stale
	 * through the TLB: the oracle would go blind where it matters.
	 */
	for (i = 0; i < FAKE_GPU_TLB_ENTRIES; i++) {
		struct fake_gpu_tlb_entry *e = &dev->tlb[i];

		WARN_ON_ONCE(e->valid ?
			     fake_gpu_tlb_lookup(dev, e->asid, e->va) != e :
			     !hlist_unhashed(&e->hash));
	}
	spin_unlock_irqrestore(&dev->tlb_lock, flags);
	return stale;
}
