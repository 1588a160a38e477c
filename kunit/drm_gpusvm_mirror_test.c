// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of drm_gpusvm's own code (drivers/gpu/drm/drm_gpusvm.c), through
 * a minimal client of the kind lib/test_hmm.c is for HMM: each client is one
 * device mirroring the test's mm with a struct drm_gpusvm, ranges made by
 * drm_gpusvm_range_find_or_insert(), pages by drm_gpusvm_get_pages() and a
 * bind that commits them under the notifier lock, as xe_svm.c does. The
 * device has PTEs and a TLB whose invalidation completes asynchronously,
 * GST_TLB_LATENCY_US after it was sent, from an hrtimer.
 *
 * The client invalidates as a driver must: zap the device's PTEs of every
 * range in the event, send a TLB invalidation, wait for it, then DMA-unmap
 * the pages and mark unmapped ranges. It does so from drm_gpusvm's single
 * pass, and, where the tree's drm_gpusvm offers it (the RFC of
 * kernel-patches/rfc/), from a two-pass invalidation: the first pass zaps,
 * sends and revokes the pages, the finish waits and unmaps; a first pass
 * that finds its notifier's finish busy completes the invalidation itself,
 * waiting for the busy finish's TLB invalidation too. Every case runs in
 * each mode the tree has.
 *
 * What is tested is drm_gpusvm: that every invalidation path of the core
 * (munmap, a partial munmap, mremap, madvise(MADV_DONTNEED), exit_mmap's
 * release walk, a direct range invalidation, a non-blocking start) reaches
 * the client under the notifier lock with the sequence advanced, that a
 * bind racing an invalidation, or committing between its two passes, sees
 * its pages invalid and retries, that the range flags say what was
 * unmapped, and that several clients (GPUs) mirroring one range are each
 * invalidated, all started before any waits when two-pass.
 *
 * The oracle: every zap, TLB send, TLB completion and DMA unmap is an event
 * in one log, and an invalidation is judged at the point of the log where
 * it returned. By then, per client and range, the PTEs were zapped, a TLB
 * invalidation sent after the zap had completed, and only then were the
 * pages DMA-unmapped; drm_gpusvm calls the pages invalid and the notifier's
 * sequence moved past the bind's. A client, or a drm_gpusvm, that lets an
 * invalidation return while the device can still reach a page fails.
 */

#include <drm/drm_drv.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_kunit_helpers.h>
#include <drm/drm_pagemap.h>
#include <kunit/test.h>
#include <linux/hrtimer.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/syscalls.h>
#include <linux/wait.h>

#include "rig_compat.h"
#include "two_pass_thread.h"

#define GST_MAX_CLIENTS	4
/* The mapping: 8 pages, in which a 16K-aligned chunk is one range. */
#define GST_PAGES	8
#define GST_CHUNK	SZ_16K
#define GST_BIND_TRIES	8
/*
 * The device's TLB invalidation latency. A notifier that does not wait
 * for it unmaps a few microseconds after the send; this only has to be
 * much longer than that.
 */
#define GST_TLB_LATENCY_US	2000
#define GST_MAX_EVENTS	128
#define GST_THREAD_MS	10000

static const unsigned long gst_chunk_sizes[] = { GST_CHUNK, SZ_4K };

enum gst_mode { GST_SINGLE_PASS, GST_TWO_PASS };

enum gst_event_kind { GST_ZAP, GST_SENT, GST_DONE, GST_UNMAP };

/* One event: a zap or unmap of range @what, a TLB invalidation @flush. */
struct gst_event {
	enum gst_event_kind kind;
	unsigned int client;
	const void *what;
	u64 flush;
};

/* A range of a client: drm_gpusvm's, the pages, the device's PTEs. */
struct gst_range {
	struct drm_gpusvm_range base;
	struct drm_gpusvm_pages pages;
	bool ptes_live;		/* device PTEs map it; under the notifier lock */
};

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

struct gst;

/* One device mirroring the test's mm. */
struct gst_client {
	struct drm_gpusvm gpusvm;
	struct mutex lock;	/* the driver lock: range lookup, insert, remove */
	struct drm_device *drm;
	struct gst *g;
	unsigned int index;
	/*
	 * The TLB: invalidations numbered from 1, completed in order by
	 * @tlb_timer; under g->log_lock, waited for on @tlb_wq.
	 */
	struct hrtimer tlb_timer;
	u64 tlb_sent, tlb_done, tlb_armed;
	wait_queue_head_t tlb_wq;
	/* Under the notifier lock for write (the invalidate ops). */
	unsigned int invalidations;
	enum mmu_notifier_event last_event;
	unsigned long events_seen;	/* BIT(event) of every invalidation */
};

/*
 * The test's own interval notifier over part of the range, visited by the
 * core's walk after the clients' notifiers (its start is higher): it sees
 * a client between the two passes, and can park that walk there.
 */
struct gst_probe {
	struct mmu_interval_notifier mni;
	struct gst_client *c;
	struct gst_range *r;
	unsigned long seq;		/* @r's pages' sequence at the bind */
	atomic_t park;			/* park the next walk here, once */
	struct completion *parked, *release;
	/* What the first walk found, under c's notifier lock. */
	bool called, valid, seq_moved;
};

/* The test's state, test->priv. */
struct gst {
	struct kunit *test;
	enum gst_mode mode;
	struct mm_struct *mm;
	unsigned long addr;	/* the mapping, GST_PAGES long */
	unsigned long chunk;	/* the GST_CHUNK-aligned range inside it */
	struct gst_client *clients[GST_MAX_CLIENTS];
	unsigned int nr_clients;
	/* The DMA device of every client: KUnit devices need unique names. */
	struct drm_device *drm;
	/* The event log and every client's TLB state; taken from an hrtimer. */
	spinlock_t log_lock;
	struct gst_event events[GST_MAX_EVENTS];
	unsigned int nr_events;
	/* Marks where exit_mmap()'s release walk returned (release_at). */
	struct mmu_notifier release_mark;
	unsigned int release_at;
	bool release_seen;
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

/* --- the event log and the device's TLB -------------------------------- */

/* Log an event; caller holds g->log_lock. */
static void gst_log(struct gst *g, enum gst_event_kind kind, unsigned int client,
		    const void *what, u64 flush)
{
	if (g->nr_events < GST_MAX_EVENTS)
		g->events[g->nr_events] = (struct gst_event){ kind, client, what, flush };
	g->nr_events++;
}

static void gst_log_range(struct gst_client *c, enum gst_event_kind kind,
			  struct gst_range *r)
{
	unsigned long flags;

	spin_lock_irqsave(&c->g->log_lock, flags);
	gst_log(c->g, kind, c->index, r, 0);
	spin_unlock_irqrestore(&c->g->log_lock, flags);
}

/* The point of the log an invalidation returned at: events before it. */
static unsigned int gst_now(struct gst *g)
{
	unsigned long flags;
	unsigned int now;

	spin_lock_irqsave(&g->log_lock, flags);
	now = g->nr_events;
	spin_unlock_irqrestore(&g->log_lock, flags);
	return now;
}

/* The TLB completes the invalidation it was armed for, then the next. */
static enum hrtimer_restart gst_tlb_timer(struct hrtimer *timer)
{
	struct gst_client *c = container_of(timer, struct gst_client, tlb_timer);
	enum hrtimer_restart restart = HRTIMER_NORESTART;
	unsigned long flags;

	spin_lock_irqsave(&c->g->log_lock, flags);
	c->tlb_done = c->tlb_armed;
	gst_log(c->g, GST_DONE, c->index, NULL, c->tlb_done);
	if (c->tlb_sent > c->tlb_done) {
		c->tlb_armed = c->tlb_sent;
		hrtimer_forward_now(timer, us_to_ktime(GST_TLB_LATENCY_US));
		restart = HRTIMER_RESTART;
	}
	spin_unlock_irqrestore(&c->g->log_lock, flags);
	wake_up_all(&c->tlb_wq);
	return restart;
}

/* Send a TLB invalidation; returns its number. */
static u64 gst_tlb_send(struct gst_client *c)
{
	unsigned long flags;
	u64 flush;

	spin_lock_irqsave(&c->g->log_lock, flags);
	flush = ++c->tlb_sent;
	gst_log(c->g, GST_SENT, c->index, NULL, flush);
	if (c->tlb_armed == c->tlb_done) {
		c->tlb_armed = flush;
		hrtimer_start(&c->tlb_timer, us_to_ktime(GST_TLB_LATENCY_US),
			      HRTIMER_MODE_REL);
	}
	spin_unlock_irqrestore(&c->g->log_lock, flags);
	return flush;
}

static bool gst_tlb_done(struct gst_client *c, u64 flush)
{
	unsigned long flags;
	bool done;

	spin_lock_irqsave(&c->g->log_lock, flags);
	done = c->tlb_done >= flush;
	spin_unlock_irqrestore(&c->g->log_lock, flags);
	return done;
}

static void gst_tlb_wait(struct gst_client *c, u64 flush)
{
	wait_event(c->tlb_wq, gst_tlb_done(c, flush));
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

/* No binding may use the pages while the device may still reach them. */
static void gst_revoke(struct gst_client *c, struct drm_gpusvm_notifier *notifier,
		       unsigned long start, unsigned long end)
{
#ifdef RIG_HAVE_GPUSVM_TWO_PASS
	struct drm_gpusvm_range *range = NULL;

	drm_gpusvm_for_each_range(range, notifier, start, end)
		drm_gpusvm_pages_revoke(&c->gpusvm, &to_gst_range(range)->pages);
#endif
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

/* drm_gpusvm's final safety net: the pages are unmapped before the free. */
static void gst_range_free(struct drm_gpusvm_range *range)
{
	struct gst_range *r = to_gst_range(range);

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

/* The modes this tree's drm_gpusvm has; every case runs in each. */
static const enum gst_mode gst_modes[] = {
	GST_SINGLE_PASS,
#ifdef RIG_HAVE_GPUSVM_TWO_PASS
	GST_TWO_PASS,
#endif
};

static void gst_mode_desc(const enum gst_mode *mode, char *desc)
{
	strscpy(desc, *mode == GST_TWO_PASS ? "two-pass" : "single-pass",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(gst_mode, gst_modes, gst_mode_desc);

static const struct drm_gpusvm_ops *gst_ops(enum gst_mode mode)
{
#ifdef RIG_HAVE_GPUSVM_TWO_PASS
	if (mode == GST_TWO_PASS)
		return &gst_two_pass_ops;
#endif
	return &gst_single_pass_ops;
}

/* --- clients, ranges, binds -------------------------------------------- */

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
static struct gst_client *gst_client_create(struct kunit *test, struct mm_struct *mm)
{
	struct gst *g = test->priv;
	struct gst_client *c;
	struct device *dev;
	int err;

	KUNIT_ASSERT_LT(test, g->nr_clients, GST_MAX_CLIENTS);
	c = kunit_kzalloc(test, sizeof(*c), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, c);
	if (!g->drm) {
		dev = drm_kunit_helper_alloc_device(test);
		KUNIT_ASSERT_FALSE(test, IS_ERR(dev));
		g->drm = __drm_kunit_helper_alloc_drm_device(test, dev, sizeof(*g->drm),
							     0, 0);
		KUNIT_ASSERT_FALSE(test, IS_ERR(g->drm));
	}
	c->drm = g->drm;
	c->g = g;
	c->index = g->nr_clients;
	mutex_init(&c->lock);
	hrtimer_setup(&c->tlb_timer, gst_tlb_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	init_waitqueue_head(&c->tlb_wq);
	err = drm_gpusvm_init(&c->gpusvm, "drm-gpusvm-mirror-test", mm, 0, TASK_SIZE,
			      SZ_2M, gst_ops(g->mode), gst_chunk_sizes,
			      ARRAY_SIZE(gst_chunk_sizes));
	KUNIT_ASSERT_EQ(test, err, 0);
	drm_gpusvm_driver_set_lock(&c->gpusvm, &c->lock);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gst_client_fini, c), 0);
	g->clients[g->nr_clients++] = c;
	return c;
}

/*
 * The client's range at @addr, made on first use as a GPU fault makes it,
 * in the client's mapping [@start, @end).
 */
static struct gst_range *gst_range_in(struct kunit *test, struct gst_client *c,
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

/* The client's range at @addr in the test's mapping. */
static struct gst_range *gst_range(struct kunit *test, struct gst_client *c,
				   unsigned long addr)
{
	struct gst *g = test->priv;

	return gst_range_in(test, c, addr, g->addr, g->addr + GST_PAGES * PAGE_SIZE);
}

/*
 * Hook between drm_gpusvm_get_pages() and the commit of a bind: a case
 * runs an invalidation there to race the bind.
 */
typedef void (*gst_race_fn)(struct kunit *test, struct gst_range *r);

/*
 * Bind @r on client @c as a fault handler does: get the pages, then under
 * the notifier lock commit the PTEs only if the pages are still valid,
 * else start again. Returns how many times the commit found them stale.
 */
static unsigned int gst_bind(struct kunit *test, struct gst_client *c,
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

/* --- what an invalidation must leave ----------------------------------- */

struct gst_seen {
	unsigned int invalidations;
	unsigned long seq;	/* the range's pages' notifier_seq at the bind */
};

static struct gst_seen gst_before(struct gst_client *c, struct gst_range *r)
{
	struct gst_seen s;

	down_read(&c->gpusvm.notifier_lock);
	s.invalidations = c->invalidations;
	s.seq = r->pages.notifier_seq;
	up_read(&c->gpusvm.notifier_lock);
	return s;
}

/*
 * Whether, at event @returned_at, @c's device could no longer reach @r's
 * old pages: after the last zap of @r before that point, a TLB
 * invalidation was sent and completed, and only then were the pages
 * DMA-unmapped.
 */
static bool gst_unreachable_at(struct gst *g, struct gst_client *c,
			       struct gst_range *r, unsigned int returned_at)
{
	int zap = -1, sent = -1, done = -1, unmap = -1;
	bool unmapped_after_done = false;
	unsigned long flags;
	unsigned int i;
	u64 flush = 0;

	spin_lock_irqsave(&g->log_lock, flags);
	for (i = 0; i < min(returned_at, g->nr_events) && i < GST_MAX_EVENTS; i++) {
		const struct gst_event *e = &g->events[i];

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
	spin_unlock_irqrestore(&g->log_lock, flags);
	return zap >= 0 && unmap >= 0 && unmapped_after_done;
}

/*
 * After an invalidation of @r's pages on @c returned, at event
 * @returned_at: the client was called, the device's PTEs are gone and its
 * TLB was flushed before the pages were unmapped (gst_unreachable_at()),
 * drm_gpusvm holds no DMA mapping of the old pages and calls them invalid,
 * and the notifier's sequence moved past the one the bind saw.
 */
static void gst_expect_invalidated(struct kunit *test, struct gst_client *c,
				   struct gst_range *r, struct gst_seen before,
				   unsigned int returned_at, const char *who)
{
	bool called, ptes_live, valid, mapped;

	down_read(&c->gpusvm.notifier_lock);
	called = c->invalidations > before.invalidations;
	ptes_live = r->ptes_live;
	valid = drm_gpusvm_pages_valid(&c->gpusvm, &r->pages);
	mapped = r->pages.flags.has_dma_mapping;
	up_read(&c->gpusvm.notifier_lock);

	KUNIT_EXPECT_TRUE_MSG(test, called, "%s: client %u was not invalidated", who,
			      c->index);
	KUNIT_EXPECT_FALSE_MSG(test, ptes_live, "%s: client %u's PTEs still live", who,
			       c->index);
	KUNIT_EXPECT_TRUE_MSG(test, gst_unreachable_at(c->g, c, r, returned_at),
			      "%s: client %u returned before zap, TLB flush and DMA unmap, in that order",
			      who, c->index);
	KUNIT_EXPECT_FALSE_MSG(test, mapped, "%s: the old pages are still DMA-mapped", who);
	KUNIT_EXPECT_FALSE_MSG(test, valid, "%s: the old pages still look valid", who);
	KUNIT_EXPECT_TRUE_MSG(test,
			      mmu_interval_read_retry(&r->base.notifier->notifier,
						      before.seq),
			      "%s: the notifier sequence did not move", who);
}

/*
 * @r is bound and its pages valid: no invalidation of it happened. (The
 * notifier's sequence may still have moved: drm_gpusvm's notifiers cover
 * notifier_size, 2M here, around their ranges.)
 */
static void gst_expect_bound(struct kunit *test, struct gst_client *c,
			     struct gst_range *r, const char *who)
{
	bool valid;

	down_read(&c->gpusvm.notifier_lock);
	valid = drm_gpusvm_pages_valid(&c->gpusvm, &r->pages) && r->ptes_live;
	up_read(&c->gpusvm.notifier_lock);
	KUNIT_EXPECT_TRUE_MSG(test, valid, "%s: a bound range was invalidated", who);
}

/* --- fixture ------------------------------------------------------------ */

static int gst_init(struct kunit *test)
{
	struct gst *g;

	g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;
	g->test = test;
	g->mode = test->param_value ? *(const enum gst_mode *)test->param_value :
		  GST_SINGLE_PASS;
	spin_lock_init(&g->log_lock);
	test->priv = g;
	return 0;
}

/* The test's mapping in its own mm, and its aligned range. */
static void gst_map(struct kunit *test)
{
	struct gst *g = test->priv;

	g->addr = kunit_vm_mmap(test, NULL, 0, GST_PAGES * PAGE_SIZE,
				PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, g->addr, 0, "kunit_vm_mmap() failed");
	g->mm = current->mm;
	g->chunk = ALIGN(g->addr, GST_CHUNK);
}

/* @n clients, each with the aligned range bound. */
static void gst_setup(struct kunit *test, unsigned int n, struct gst_range **ranges)
{
	struct gst *g = test->priv;
	unsigned int i;

	gst_map(test);
	for (i = 0; i < n; i++) {
		struct gst_client *c = gst_client_create(test, g->mm);

		ranges[i] = gst_range(test, c, g->chunk);
		KUNIT_ASSERT_EQ(test, drm_gpusvm_range_size(&ranges[i]->base),
				(unsigned long)GST_CHUNK);
		gst_bind(test, c, ranges[i], NULL);
		gst_expect_bound(test, c, ranges[i], "bind");
	}
}

/* One client with the range bound: its client and what it saw before. */
static struct gst_range *gst_setup_one(struct kunit *test, struct gst_client **c,
				       struct gst_seen *before)
{
	struct gst *g = test->priv;
	struct gst_range *r;

	gst_setup(test, 1, &r);
	*c = g->clients[0];
	*before = gst_before(*c, r);
	return r;
}

/* Invalidate [start, end) of @mm through the core, as migration or reclaim does. */
static void gst_invalidate_range(struct mm_struct *mm, unsigned long start,
				 unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
}

/* --- the probe: between the two passes ---------------------------------- */

static bool gst_probe_invalidate(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq)
{
	struct gst_probe *p = container_of(mni, struct gst_probe, mni);

	if (!mmu_notifier_range_blockable(range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	if (!p->called) {
		drm_gpusvm_notifier_lock(&p->c->gpusvm);
		p->valid = drm_gpusvm_pages_valid(&p->c->gpusvm, &p->r->pages);
		p->seq_moved = mmu_interval_check_retry(&p->r->base.notifier->notifier,
							p->seq);
		drm_gpusvm_notifier_unlock(&p->c->gpusvm);
		p->called = true;
	}
	if (atomic_cmpxchg(&p->park, 1, 0) == 1) {
		complete(p->parked);
		wait_for_completion(p->release);
	}
	return true;
}

static const struct mmu_interval_notifier_ops gst_probe_ops = {
	.invalidate = gst_probe_invalidate,
};

static void gst_probe_remove(void *arg)
{
	struct gst_probe *p = arg;

	mmu_interval_notifier_remove(&p->mni);
}

/* A probe of @c's range @r on the range's second page. */
static struct gst_probe *gst_probe_insert(struct kunit *test, struct gst_client *c,
					  struct gst_range *r)
{
	struct gst_probe *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	int err;

	KUNIT_ASSERT_NOT_NULL(test, p);
	p->c = c;
	p->r = r;
	p->seq = gst_before(c, r).seq;
	p->parked = tp_gate(test);
	p->release = tp_gate(test);
	err = mmu_interval_notifier_insert(&p->mni, c->gpusvm.mm,
					   drm_gpusvm_range_start(&r->base) + PAGE_SIZE,
					   PAGE_SIZE, &gst_probe_ops);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gst_probe_remove, p), 0);
	return p;
}

/* --- cases -------------------------------------------------------------- */

/* munmap() of the whole range: an UNMAP event, the range marked unmapped. */
static void drm_gpusvm_munmap(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_range *r;
	struct gst_client *c;
	struct gst_seen before;

	r = gst_setup_one(test, &c, &before);

	KUNIT_ASSERT_EQ(test, vm_munmap(g->chunk, GST_CHUNK), 0);

	gst_expect_invalidated(test, c, r, before, gst_now(g), "munmap");
	KUNIT_EXPECT_EQ(test, c->last_event, MMU_NOTIFY_UNMAP);
	KUNIT_EXPECT_TRUE(test, r->base.flags.unmapped);
	KUNIT_EXPECT_FALSE(test, r->base.flags.partial_unmap);
	KUNIT_EXPECT_TRUE(test, r->pages.flags.unmapped);
}

/* munmap() of one page of the range: the range says partial_unmap. */
static void drm_gpusvm_partial_munmap(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_range *r;
	struct gst_client *c;
	struct gst_seen before;

	r = gst_setup_one(test, &c, &before);

	KUNIT_ASSERT_EQ(test, vm_munmap(g->chunk + PAGE_SIZE, PAGE_SIZE), 0);

	gst_expect_invalidated(test, c, r, before, gst_now(g), "partial munmap");
	KUNIT_EXPECT_TRUE(test, r->base.flags.unmapped);
	KUNIT_EXPECT_TRUE(test, r->base.flags.partial_unmap);
}

/*
 * mremap() to @to, as the process would. A test reaches mremap() only
 * through its system call, and only where system calls are plain C
 * functions: not behind the pt_regs wrappers of x86_64 and arm64.
 */
static long gst_mremap(unsigned long from, unsigned long len, unsigned long to)
{
#ifdef CONFIG_ARCH_HAS_SYSCALL_WRAPPER
	return -EOPNOTSUPP;
#else
	return sys_mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
#endif
}

/*
 * mremap() moves the range's pages to another address: the old range is
 * unmapped (an UNMAP event, as munmap), and the same pages, now at the
 * new address, bind there.
 */
static void drm_gpusvm_mremap(struct kunit *test)
{
	struct gst *g = test->priv;
	unsigned long area, to;
	struct gst_range *r, *moved;
	struct gst_client *c;
	struct gst_seen before;
	dma_addr_t page;
	long ret;

	if (IS_ENABLED(CONFIG_ARCH_HAS_SYSCALL_WRAPPER))
		kunit_skip(test, "sys_mremap() takes pt_regs here: runs on UML");
	r = gst_setup_one(test, &c, &before);
	area = kunit_vm_mmap(test, NULL, 0, 2 * GST_CHUNK, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, area, 0, "kunit_vm_mmap() failed");
	to = ALIGN(area, GST_CHUNK);
	page = r->pages.dma_addr[0].addr;

	ret = gst_mremap(g->chunk, GST_CHUNK, to);
	KUNIT_ASSERT_EQ_MSG(test, ret, (long)to, "mremap() failed: %ld", ret);

	gst_expect_invalidated(test, c, r, before, gst_now(g), "mremap");
	KUNIT_EXPECT_EQ(test, c->last_event, MMU_NOTIFY_UNMAP);
	KUNIT_EXPECT_TRUE(test, r->base.flags.unmapped);
	KUNIT_EXPECT_FALSE(test, r->base.flags.partial_unmap);

	moved = gst_range_in(test, c, to, area, area + 2 * GST_CHUNK);
	KUNIT_EXPECT_EQ(test, gst_bind(test, c, moved, NULL), 0);
	gst_expect_bound(test, c, moved, "bind at the new address");
	KUNIT_EXPECT_EQ_MSG(test, moved->pages.dma_addr[0].addr, page,
			    "mremap() did not move the page: the case copied, not moved");
}

/*
 * madvise(MADV_DONTNEED): the pages go, the mapping stays. The range is
 * invalidated but not marked unmapped, and a new bind gets the new pages.
 */
static void drm_gpusvm_madvise_dontneed(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_range *r;
	struct gst_client *c;
	struct gst_seen before;

	r = gst_setup_one(test, &c, &before);

	KUNIT_ASSERT_EQ(test, do_madvise(g->mm, g->chunk, GST_CHUNK, MADV_DONTNEED), 0);

	gst_expect_invalidated(test, c, r, before, gst_now(g), "madvise(MADV_DONTNEED)");
	KUNIT_EXPECT_NE(test, c->last_event, MMU_NOTIFY_UNMAP);
	KUNIT_EXPECT_FALSE(test, r->base.flags.unmapped);
	KUNIT_EXPECT_EQ(test, gst_bind(test, c, r, NULL), 0);
	gst_expect_bound(test, c, r, "rebind");
}

/* A range invalidation elsewhere in the mm leaves the range alone. */
static void drm_gpusvm_other_range_untouched(struct kunit *test)
{
	struct gst *g = test->priv;
	unsigned long other;
	struct gst_range *r;

	gst_setup(test, 1, &r);
	other = (g->chunk == g->addr) ? g->chunk + GST_CHUNK : g->addr;
	KUNIT_ASSERT_EQ(test, vm_munmap(other, PAGE_SIZE), 0);
	gst_expect_bound(test, g->clients[0], r, "munmap of another page");
}

/* A non-blockable start is refused before anything changes. */
static void drm_gpusvm_nonblock_refused(struct kunit *test)
{
	struct gst *g = test->priv;
	struct mmu_notifier_range range;
	struct gst_range *r;

	gst_setup(test, 1, &r);
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, g->mm, g->chunk,
				g->chunk + GST_CHUNK);
	KUNIT_EXPECT_EQ(test, mmu_notifier_invalidate_range_start_nonblock(&range),
			-EAGAIN);
	gst_expect_bound(test, g->clients[0], r, "non-blocking start");
	KUNIT_EXPECT_EQ(test, g->clients[0]->invalidations, 0);
	KUNIT_EXPECT_FALSE_MSG(test, mmu_interval_check_retry(&r->base.notifier->notifier,
							      r->pages.notifier_seq),
			       "the refused start moved the notifier sequence");
}

static void gst_race_invalidation(struct kunit *test, struct gst_range *r)
{
	gst_invalidate_range(r->base.gpusvm->mm, drm_gpusvm_range_start(&r->base),
			     drm_gpusvm_range_end(&r->base));
}

/*
 * An invalidation between drm_gpusvm_get_pages() and the commit: the
 * commit must find the pages invalid and bind again.
 */
static void drm_gpusvm_bind_races_invalidation(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_client *c;
	struct gst_range *r;

	gst_map(test);
	c = gst_client_create(test, g->mm);
	r = gst_range(test, c, g->chunk);

	KUNIT_EXPECT_EQ(test, gst_bind(test, c, r, gst_race_invalidation), 1);
	KUNIT_EXPECT_EQ(test, c->invalidations, 1);
	gst_expect_bound(test, c, r, "the bind after the race");
}

/*
 * A bind that got the pages before an invalidation and commits after its
 * first pass, before its finish, while the pages are still DMA-mapped:
 * drm_gpusvm must call them invalid from the first pass on, and the
 * notifier's sequence must have moved there, else the bind maps pages
 * that are going away. The probe, after the client in the walk, checks.
 */
static void drm_gpusvm_bind_between_passes(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_probe *p;
	struct gst_range *r;

	gst_setup(test, 1, &r);
	p = gst_probe_insert(test, g->clients[0], r);

	KUNIT_ASSERT_EQ(test, vm_munmap(g->chunk, GST_CHUNK), 0);

	KUNIT_ASSERT_TRUE_MSG(test, p->called, "the probe was not in the walk");
	KUNIT_EXPECT_FALSE_MSG(test, p->valid,
			       "after the first pass the pages still looked valid to a bind");
	KUNIT_EXPECT_TRUE_MSG(test, p->seq_moved,
			      "after the first pass the notifier sequence had not moved");
}

/* N clients (N GPUs) mirror one range: one munmap() invalidates each. */
static void drm_gpusvm_n_clients(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_range *r[GST_MAX_CLIENTS];
	struct gst_seen before[GST_MAX_CLIENTS];
	unsigned int i, at, last_sent = 0, first_unmap = UINT_MAX;

	gst_setup(test, GST_MAX_CLIENTS, r);
	for (i = 0; i < GST_MAX_CLIENTS; i++)
		before[i] = gst_before(g->clients[i], r[i]);

	KUNIT_ASSERT_EQ(test, vm_munmap(g->chunk, GST_CHUNK), 0);

	at = gst_now(g);
	for (i = 0; i < GST_MAX_CLIENTS; i++) {
		gst_expect_invalidated(test, g->clients[i], r[i], before[i], at, "munmap");
		KUNIT_EXPECT_EQ(test, g->clients[i]->invalidations, 1);
	}
	spin_lock_irq(&g->log_lock);
	for (i = 0; i < min(at, GST_MAX_EVENTS); i++) {
		if (g->events[i].kind == GST_SENT)
			last_sent = i;
		if (g->events[i].kind == GST_UNMAP && first_unmap == UINT_MAX)
			first_unmap = i;
	}
	spin_unlock_irq(&g->log_lock);
	if (g->mode == GST_TWO_PASS)
		KUNIT_EXPECT_LT_MSG(test, last_sent, first_unmap,
				    "a device was started only after another's finish");
	else
		KUNIT_EXPECT_GT_MSG(test, last_sent, first_unmap,
				    "single pass: each device is waited for before the next");
}

struct gst_inval_args {
	struct mm_struct *mm;
	unsigned long start, end;
};

static void gst_inval_fn(void *arg)
{
	struct gst_inval_args *a = arg;

	gst_invalidate_range(a->mm, a->start, a->end);
}

/*
 * A second invalidation of the range while the first is between its two
 * passes (parked by the probe): the first zapped the PTEs and sent the TLB
 * invalidation, so the second finds nothing to zap and, with the
 * notifier's finish busy, completes itself. It must not unmap the pages
 * and return before the first one's TLB invalidation completed.
 */
static void drm_gpusvm_concurrent_busy_finish(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_inval_args *a;
	struct gst_seen before;
	struct gst_client *c;
	struct gst_probe *p;
	struct tp_thread *t;
	struct gst_range *r;

	r = gst_setup_one(test, &c, &before);
	p = gst_probe_insert(test, c, r);
	a = kunit_kzalloc(test, sizeof(*a), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, a);
	*a = (struct gst_inval_args){ g->mm, g->chunk, g->chunk + GST_CHUNK };
	atomic_set(&p->park, 1);
	t = tp_thread_run(test, "gst-first", NULL, gst_inval_fn, a);
	KUNIT_ASSERT_TRUE_MSG(test,
			      wait_for_completion_timeout(p->parked,
							  msecs_to_jiffies(GST_THREAD_MS)),
			      "the first invalidation never reached the probe");

	gst_invalidate_range(g->mm, g->chunk, g->chunk + GST_CHUNK);

	gst_expect_invalidated(test, c, r, before, gst_now(g), "the second invalidation");
	complete(p->release);
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(t, GST_THREAD_MS));
}

/* __mmu_notifier_release() calls it right after the interval notifiers' walk. */
static void gst_release_mark(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct gst *g = container_of(mn, struct gst, release_mark);
	unsigned long flags;

	spin_lock_irqsave(&g->log_lock, flags);
	g->release_at = g->nr_events;
	g->release_seen = true;
	spin_unlock_irqrestore(&g->log_lock, flags);
}

static const struct mmu_notifier_ops gst_release_mark_ops = {
	.release = gst_release_mark,
};

static void gst_release_mark_remove(void *arg)
{
	struct gst *g = arg;

	/* Drops the mm_count reference mmu_notifier_register() took. */
	mmu_notifier_unregister(&g->release_mark, g->mm);
}

static void gst_mmput(void *mm)
{
	mmput(mm);
}

/*
 * exit_mmap()'s release walk, in an mm of the test's own: the client is
 * invalidated with MMU_NOTIFY_RELEASE and must leave the range unreachable
 * before the walk returns, which a plain mmu_notifier's release marks (the
 * core calls it right after the interval notifiers' walk, before
 * exit_mmap() unmaps the VMAs).
 */
static void drm_gpusvm_release_walk(struct kunit *test)
{
	struct gst *g = test->priv;
	struct mm_struct *mm;
	struct gst_client *c;
	struct gst_seen before;
	struct gst_range *r;

	mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, mm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gst_mmput, mm), 0);
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	kthread_use_mm(mm);
	g->addr = vm_mmap(NULL, 0, GST_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_ANONYMOUS | MAP_PRIVATE, 0);
	kthread_unuse_mm(mm);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(g->addr), "vm_mmap() failed: %ld",
			       (long)g->addr);
	g->mm = mm;
	g->chunk = ALIGN(g->addr, GST_CHUNK);
	/* drm_gpusvm holds the mm with mmgrab(): the client outlives its pages. */
	c = gst_client_create(test, mm);
	r = gst_range(test, c, g->chunk);
	gst_bind(test, c, r, NULL);
	before = gst_before(c, r);
	g->release_mark.ops = &gst_release_mark_ops;
	KUNIT_ASSERT_EQ(test, mmu_notifier_register(&g->release_mark, mm), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gst_release_mark_remove, g), 0);

	kunit_release_action(test, gst_mmput, mm);	/* exit_mmap() */

	KUNIT_ASSERT_TRUE_MSG(test, g->release_seen, "exit_mmap() ran no release walk");
	gst_expect_invalidated(test, c, r, before, g->release_at, "exit_mmap's release walk");
	KUNIT_EXPECT_TRUE(test, c->events_seen & BIT(MMU_NOTIFY_RELEASE));
}

static struct kunit_case drm_gpusvm_mirror_tests[] = {
	KUNIT_CASE_PARAM(drm_gpusvm_munmap, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_partial_munmap, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_mremap, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_madvise_dontneed, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_other_range_untouched, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_nonblock_refused, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_bind_races_invalidation, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_bind_between_passes, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_n_clients, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_concurrent_busy_finish, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_release_walk, gst_mode_gen_params),
	{}
};

static struct kunit_suite drm_gpusvm_mirror_suite = {
	.name = "drm_gpusvm_mirror",
	.init = gst_init,
	.test_cases = drm_gpusvm_mirror_tests,
};

kunit_test_suite(drm_gpusvm_mirror_suite);

MODULE_DESCRIPTION("KUnit tests of drm_gpusvm through a minimal client");
MODULE_LICENSE("GPL");
