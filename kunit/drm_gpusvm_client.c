// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal drm_gpusvm client: see drm_gpusvm_client.h.
 */

#include <drm/drm_drv.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_kunit_helpers.h>
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>

#include "drm_gpusvm_client.h"
#include "rig_compat.h"

/* 16K chunks: a 16K-aligned range of a mapping is one range. */
static const unsigned long gst_chunk_sizes[] = { SZ_16K, SZ_4K };

/* How often a bind finds its pages stale before the caller is failed. */
#define GST_BIND_TRIES	8

/* What a two-pass invalidation hands from its first pass to its finish. */
struct gst_finish {
	struct mmu_interval_notifier_finish base;
	struct mmu_notifier_range range;	/* the event's: not passed to the finish */
	u64 flush;				/* the TLB invalidation the first pass sent */
};

/* A client's notifier, with its one finish (under the notifier lock). */
struct gst_notifier {
	struct drm_gpusvm_notifier base;
	struct gst_finish finish;
	bool finish_inuse;
};

static struct gst_range *to_gst_range(struct drm_gpusvm_range *r)
{
	return container_of(r, struct gst_range, base);
}

static struct gst_client *to_gst_client(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct gst_client, gpusvm);
}

static struct gst_notifier *to_gst_notifier(struct drm_gpusvm_notifier *n)
{
	return container_of(n, struct gst_notifier, base);
}

/* --- the event log ------------------------------------------------------ */

void gst_log_init(struct gst_log *log)
{
	spin_lock_init(&log->lock);
	log->nr = 0;
}

/* Log an event; caller holds log->lock. */
static void gst_log(struct gst_log *log, enum gst_event_kind kind, unsigned int client,
		    const void *what, u64 flush)
{
	if (log->nr < GST_MAX_EVENTS)
		log->events[log->nr] = (struct gst_event){ kind, client, what, flush };
	log->nr++;
}

static void gst_log_range(struct gst_client *c, enum gst_event_kind kind,
			  struct gst_range *r)
{
	unsigned long flags;

	spin_lock_irqsave(&c->log->lock, flags);
	gst_log(c->log, kind, c->index, r, 0);
	spin_unlock_irqrestore(&c->log->lock, flags);
}

/* The point of the log an invalidation returned at: events before it. */
unsigned int gst_log_now(struct gst_log *log)
{
	unsigned long flags;
	unsigned int now;

	spin_lock_irqsave(&log->lock, flags);
	now = log->nr;
	spin_unlock_irqrestore(&log->lock, flags);
	return now;
}

/*
 * Whether, at event @returned_at, @c's device could no longer reach @r's
 * old pages: after the last zap of @r before that point, a TLB
 * invalidation was sent and completed, and only then were the pages
 * DMA-unmapped.
 */
bool gst_unreachable_at(struct gst_log *log, struct gst_client *c,
			struct gst_range *r, unsigned int returned_at)
{
	int zap = -1, sent = -1, done = -1, unmap = -1;
	bool unmapped_after_done = false;
	unsigned long flags;
	unsigned int i;
	u64 flush = 0;

	spin_lock_irqsave(&log->lock, flags);
	for (i = 0; i < min(returned_at, log->nr) && i < GST_MAX_EVENTS; i++) {
		const struct gst_event *e = &log->events[i];

		if (e->client != c->index)
			continue;
		switch (e->kind) {
		case GST_ZAP:
			if (e->what == r) {
				zap = i;
				sent = -1;
				done = -1;
				unmap = -1;
			}
			break;
		case GST_SENT:
			if (zap >= 0 && sent < 0) {
				sent = i;
				flush = e->flush;
			}
			break;
		case GST_DONE:
			if (sent >= 0 && done < 0 && e->flush >= flush)
				done = i;
			break;
		case GST_UNMAP:
			if (e->what == r && zap >= 0 && unmap < 0) {
				unmap = i;
				unmapped_after_done = done >= 0;
			}
			break;
		}
	}
	spin_unlock_irqrestore(&log->lock, flags);
	return zap >= 0 && unmap >= 0 && unmapped_after_done;
}

/* --- the device's TLB --------------------------------------------------- */

/* The TLB completes the invalidation it was armed for, then the next. */
static enum hrtimer_restart gst_tlb_timer(struct hrtimer *timer)
{
	struct gst_client *c = container_of(timer, struct gst_client, tlb_timer);
	enum hrtimer_restart restart = HRTIMER_NORESTART;
	unsigned long flags;

	spin_lock_irqsave(&c->log->lock, flags);
	c->tlb_done = c->tlb_armed;
	gst_log(c->log, GST_DONE, c->index, NULL, c->tlb_done);
	if (c->tlb_sent > c->tlb_done) {
		c->tlb_armed = c->tlb_sent;
		hrtimer_forward_now(timer, us_to_ktime(c->tlb_latency_us));
		restart = HRTIMER_RESTART;
	}
	spin_unlock_irqrestore(&c->log->lock, flags);
	wake_up_all(&c->tlb_wq);
	return restart;
}

/* Send a TLB invalidation; returns its number. */
static u64 gst_tlb_send(struct gst_client *c)
{
	unsigned long flags;
	u64 flush;

	spin_lock_irqsave(&c->log->lock, flags);
	flush = ++c->tlb_sent;
	gst_log(c->log, GST_SENT, c->index, NULL, flush);
	if (c->tlb_armed == c->tlb_done) {
		c->tlb_armed = flush;
		hrtimer_start(&c->tlb_timer, us_to_ktime(c->tlb_latency_us),
			      HRTIMER_MODE_REL);
	}
	spin_unlock_irqrestore(&c->log->lock, flags);
	return flush;
}

static bool gst_tlb_done(struct gst_client *c, u64 flush)
{
	unsigned long flags;
	bool done;

	spin_lock_irqsave(&c->log->lock, flags);
	done = c->tlb_done >= flush;
	spin_unlock_irqrestore(&c->log->lock, flags);
	return done;
}

static void gst_tlb_wait(struct gst_client *c, u64 flush)
{
	wait_event(c->tlb_wq, gst_tlb_done(c, flush));
}

/* Complete the TLB invalidation in flight now rather than at its latency. */
void gst_tlb_complete_now(struct gst_client *c)
{
	unsigned long flags;

	spin_lock_irqsave(&c->log->lock, flags);
	/* A callback already running completes it, and re-arms if need be. */
	if (c->tlb_armed != c->tlb_done && hrtimer_try_to_cancel(&c->tlb_timer) == 1)
		hrtimer_start(&c->tlb_timer, 0, HRTIMER_MODE_REL);
	spin_unlock_irqrestore(&c->log->lock, flags);
}

/* --- the client's invalidation ------------------------------------------ */

/* Zap the device's PTEs of every range in [start, end); whether any were. */
static bool gst_zap(struct gst_client *c, struct drm_gpusvm_notifier *notifier,
		    unsigned long start, unsigned long end)
{
	struct drm_gpusvm_range *range = NULL;
	bool zapped = false;

	drm_gpusvm_for_each_range(range, notifier, start, end) {
		struct gst_range *r = to_gst_range(range);

		if (r->ptes_live) {
			r->ptes_live = false;
			gst_log_range(c, GST_ZAP, r);
			zapped = true;
		}
	}
	return zapped;
}

/* DMA-unmap the pages of the ranges in @mmu_range; mark unmapped ones. */
static void gst_unmap(struct gst_client *c, struct drm_gpusvm_notifier *notifier,
		      const struct mmu_notifier_range *mmu_range)
{
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct drm_gpusvm_range *range = NULL;

	drm_gpusvm_for_each_range(range, notifier, mmu_range->start, mmu_range->end) {
		struct gst_range *r = to_gst_range(range);

		if (r->pages.flags.has_dma_mapping)
			gst_log_range(c, GST_UNMAP, r);
		drm_gpusvm_unmap_pages(&c->gpusvm, &r->pages,
				       drm_gpusvm_range_size(range) >> PAGE_SHIFT, &ctx);
		if (mmu_range->event == MMU_NOTIFY_UNMAP)
			drm_gpusvm_range_set_unmapped(range, &r->pages, 1, mmu_range);
	}
}

static void gst_count(struct gst_client *c, const struct mmu_notifier_range *mmu_range)
{
	lockdep_assert_held_write(&c->gpusvm.notifier_lock);
	c->invalidations++;
	c->last_event = mmu_range->event;
	c->events_seen |= BIT(mmu_range->event);
}

/*
 * The single pass, under the notifier lock for write: stop the device
 * (zap, flush the TLB and wait), then DMA-unmap the pages.
 */
static void gst_invalidate(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_notifier *notifier,
			   const struct mmu_notifier_range *mmu_range)
{
	struct gst_client *c = to_gst_client(gpusvm);

	gst_count(c, mmu_range);
	if (gst_zap(c, notifier, mmu_range->start, mmu_range->end))
		gst_tlb_wait(c, gst_tlb_send(c));
	gst_unmap(c, notifier, mmu_range);
}

#ifdef RIG_HAVE_GPUSVM_TWO_PASS
/* No binding may use the pages while the device may still reach them. */
static void gst_revoke(struct gst_client *c, struct drm_gpusvm_notifier *notifier,
		       unsigned long start, unsigned long end)
{
	struct drm_gpusvm_range *range = NULL;

	drm_gpusvm_for_each_range(range, notifier, start, end)
		drm_gpusvm_pages_revoke(&c->gpusvm, &to_gst_range(range)->pages);
}

/*
 * The first pass: zap and send the TLB invalidation, revoke the pages and
 * leave the wait and the unmap to the finish. With the notifier's finish
 * busy (a concurrent invalidation holds it), complete here: wait for this
 * TLB invalidation and for the busy finish's, which may cover ranges this
 * one finds already zapped, then unmap.
 */
static struct mmu_interval_notifier_finish *
gst_invalidate_start(struct drm_gpusvm *gpusvm, struct drm_gpusvm_notifier *notifier,
		     const struct mmu_notifier_range *mmu_range)
{
	struct gst_client *c = to_gst_client(gpusvm);
	struct gst_notifier *n = to_gst_notifier(notifier);
	u64 flush = 0;

	gst_count(c, mmu_range);
	if (gst_zap(c, notifier, mmu_range->start, mmu_range->end))
		flush = gst_tlb_send(c);
	if (n->finish_inuse) {
		if (flush)
			gst_tlb_wait(c, flush);
		gst_tlb_wait(c, n->finish.flush);
		gst_unmap(c, notifier, mmu_range);
		return NULL;
	}
	if (!flush) {
		/* Nothing in flight: the device cannot reach the pages. */
		gst_unmap(c, notifier, mmu_range);
		return NULL;
	}
	gst_revoke(c, notifier, mmu_range->start, mmu_range->end);
	n->finish_inuse = true;
	n->finish.range = *mmu_range;
	n->finish.flush = flush;
	return &n->finish.base;
}

static void gst_invalidate_finish(struct drm_gpusvm *gpusvm,
				  struct drm_gpusvm_notifier *notifier,
				  struct mmu_interval_notifier_finish *finish)
{
	struct gst_client *c = to_gst_client(gpusvm);
	struct gst_notifier *n = to_gst_notifier(notifier);

	lockdep_assert_held_write(&gpusvm->notifier_lock);
	gst_tlb_wait(c, n->finish.flush);
	gst_unmap(c, notifier, &n->finish.range);
	n->finish_inuse = false;
}
#endif

/* --- the client's other ops --------------------------------------------- */

static struct drm_gpusvm_notifier *gst_notifier_alloc(void)
{
	struct gst_notifier *n = kzalloc_obj(*n, GFP_KERNEL);

	return n ? &n->base : NULL;
}

static void gst_notifier_free(struct drm_gpusvm_notifier *notifier)
{
	kfree(to_gst_notifier(notifier));
}

static struct drm_gpusvm_range *gst_range_alloc(struct drm_gpusvm *gpusvm)
{
	struct gst_client *c = to_gst_client(gpusvm);
	struct gst_range *r = kzalloc_obj(*r, GFP_KERNEL);

	if (!r)
		return NULL;
	drm_gpusvm_init_pages(&r->pages, c->drm);
	return &r->base;
}

/*
 * drm_gpusvm's final safety net: the pages are unmapped before the free,
 * an unmap the log records as the client's own.
 */
static void gst_range_free(struct drm_gpusvm_range *range)
{
	struct gst_range *r = to_gst_range(range);

	if (r->pages.flags.has_dma_mapping)
		gst_log_range(to_gst_client(range->gpusvm), GST_UNMAP, r);

	drm_gpusvm_free_pages(range->gpusvm, &r->pages,
			      drm_gpusvm_range_size(range) >> PAGE_SHIFT);
	kfree(r);
}

static const struct drm_gpusvm_ops gst_single_pass_ops = {
	.notifier_alloc = gst_notifier_alloc,
	.notifier_free = gst_notifier_free,
	.range_alloc = gst_range_alloc,
	.range_free = gst_range_free,
	.invalidate = gst_invalidate,
};

#ifdef RIG_HAVE_GPUSVM_TWO_PASS
static const struct drm_gpusvm_ops gst_two_pass_ops = {
	.notifier_alloc = gst_notifier_alloc,
	.notifier_free = gst_notifier_free,
	.range_alloc = gst_range_alloc,
	.range_free = gst_range_free,
	.invalidate_start = gst_invalidate_start,
	.invalidate_finish = gst_invalidate_finish,
};
#endif

static const struct drm_gpusvm_ops *gst_ops(enum gst_mode mode)
{
#ifdef RIG_HAVE_GPUSVM_TWO_PASS
	if (mode == GST_TWO_PASS)
		return &gst_two_pass_ops;
#endif
	return &gst_single_pass_ops;
}

/* --- clients, ranges, binds -------------------------------------------- */

/* A DRM device to DMA-map with, for every client of a test. */
struct drm_device *gst_drm_device(struct kunit *test)
{
	struct drm_device *drm;
	struct device *dev;

	dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_FALSE(test, IS_ERR(dev));
	drm = __drm_kunit_helper_alloc_drm_device(test, dev, sizeof(*drm), 0, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(drm));
	return drm;
}

static void gst_client_fini(void *arg)
{
	struct gst_client *c = arg;

	mutex_lock(&c->lock);
	drm_gpusvm_fini(&c->gpusvm);
	mutex_unlock(&c->lock);
	mutex_destroy(&c->lock);
	/* Its notifiers are gone: nothing sends or waits any more. */
	hrtimer_cancel(&c->tlb_timer);
}

/* A client mirroring all of @mm; finished by a test action. */
struct gst_client *gst_client_create(struct kunit *test, struct mm_struct *mm,
				     const struct gst_client_args *args)
{
	struct gst_client *c;
	int err;

	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	c->drm = args->drm;
	c->log = args->log;
	c->index = args->index;
	c->tlb_latency_us = args->tlb_latency_us;
	mutex_init(&c->lock);
	hrtimer_setup(&c->tlb_timer, gst_tlb_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	init_waitqueue_head(&c->tlb_wq);
	err = drm_gpusvm_init(&c->gpusvm, "drm-gpusvm-mirror-test", mm, 0, TASK_SIZE,
			      SZ_2M, gst_ops(args->mode), gst_chunk_sizes,
			      ARRAY_SIZE(gst_chunk_sizes));
	KUNIT_ASSERT_EQ(test, err, 0);
	drm_gpusvm_driver_set_lock(&c->gpusvm, &c->lock);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gst_client_fini, c), 0);
	return c;
}

/* Finish @c now rather than at the end of the test. */
void gst_client_destroy(struct kunit *test, struct gst_client *c)
{
	kunit_release_action(test, gst_client_fini, c);
}

/*
 * The client's range at @addr, made on first use as a GPU fault makes it,
 * in the client's mapping [@start, @end).
 */
struct gst_range *gst_range_in(struct kunit *test, struct gst_client *c,
			       unsigned long addr, unsigned long start,
			       unsigned long end)
{
	struct drm_gpusvm_ctx ctx = {};
	struct drm_gpusvm_range *range;

	mutex_lock(&c->lock);
	range = drm_gpusvm_range_find_or_insert(&c->gpusvm, addr, start, end, &ctx);
	mutex_unlock(&c->lock);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(range), "range_find_or_insert: %ld",
			       PTR_ERR(range));
	return to_gst_range(range);
}

/* Remove @r, as a driver's garbage collector does once it is unmapped. */
void gst_range_remove(struct gst_client *c, struct gst_range *r)
{
	mutex_lock(&c->lock);
	drm_gpusvm_range_remove(&c->gpusvm, &r->base);
	mutex_unlock(&c->lock);
}

/*
 * Bind @r on client @c as a fault handler does: get the pages, then under
 * the notifier lock commit the PTEs only if the pages are still valid,
 * else start again. Returns how many times the commit found them stale.
 */
unsigned int gst_bind(struct kunit *test, struct gst_client *c,
		      struct gst_range *r, gst_race_fn race)
{
	struct drm_gpusvm_ctx ctx = {};
	unsigned int tries, stale = 0;
	int err;

	for (tries = 0; tries < GST_BIND_TRIES; tries++) {
		err = drm_gpusvm_get_pages(&c->gpusvm, &r->pages, c->gpusvm.mm,
					   &r->base.notifier->notifier,
					   drm_gpusvm_range_start(&r->base),
					   drm_gpusvm_range_end(&r->base), &ctx);
		KUNIT_ASSERT_EQ_MSG(test, err, 0, "drm_gpusvm_get_pages()");
		if (race && tries == 0)
			race(test, r);
		drm_gpusvm_notifier_lock(&c->gpusvm);
		if (drm_gpusvm_pages_valid(&c->gpusvm, &r->pages)) {
			r->ptes_live = true;
			drm_gpusvm_notifier_unlock(&c->gpusvm);
			return stale;
		}
		drm_gpusvm_notifier_unlock(&c->gpusvm);
		stale++;
	}
	KUNIT_FAIL_AND_ABORT(test, "the bind found its pages stale %u times", stale);
	return stale;
}
