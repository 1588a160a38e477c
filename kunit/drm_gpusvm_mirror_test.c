// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of drm_gpusvm's own code (drivers/gpu/drm/drm_gpusvm.c),
 * through the minimal client of drm_gpusvm_client.h: devices mirroring the
 * test's mm, with PTEs and a TLB whose invalidation completes
 * asynchronously. Every case runs in each mode the tree's drm_gpusvm has:
 * single pass and, with the RFC of kernel-patches/rfc/, two passes.
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

#include <drm/drm_gpusvm.h>
#include <drm/drm_pagemap.h>
#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/syscalls.h>

#include "drm_gpusvm_client.h"
#include "rig_compat.h"
#include "two_pass_thread.h"

#define GST_MAX_CLIENTS	4
/* The mapping: 12 pages, in which two 16K-aligned chunks are two ranges. */
#define GST_PAGES	12
#define GST_CHUNK	SZ_16K
/*
 * The device's TLB invalidation latency. A notifier that does not wait
 * for it unmaps a few microseconds after the send; this only has to be
 * much longer than that.
 */
#define GST_TLB_LATENCY_US	2000
/* A TLB invalidation that completes only when the test completes it. */
#define GST_TLB_HELD_US		(60 * USEC_PER_SEC)
#define GST_THREAD_MS	10000
/* What a thread that should block gets to show it does not. */
#define GST_GRACE_MS	100

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
	unsigned int tlb_latency_us;	/* of the next clients */
	struct gst_log log;
	/* Marks where exit_mmap()'s release walk returned (release_at). */
	struct mmu_notifier release_mark;
	unsigned int release_at;
	bool release_seen;
};

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

/* A client mirroring @mm, the test's next. */
static struct gst_client *gst_client_new(struct kunit *test, struct mm_struct *mm)
{
	struct gst *g = test->priv;
	struct gst_client_args args = {
		.log = &g->log,
		.mode = g->mode,
		.index = g->nr_clients,
		.tlb_latency_us = g->tlb_latency_us,
	};

	KUNIT_ASSERT_LT(test, g->nr_clients, GST_MAX_CLIENTS);
	if (!g->drm)
		g->drm = gst_drm_device(test);
	args.drm = g->drm;
	g->clients[g->nr_clients] = gst_client_create(test, mm, &args);
	return g->clients[g->nr_clients++];
}

/* The client's range at @addr in the test's mapping. */
static struct gst_range *gst_range(struct kunit *test, struct gst_client *c,
				   unsigned long addr)
{
	struct gst *g = test->priv;

	return gst_range_in(test, c, addr, g->addr, g->addr + GST_PAGES * PAGE_SIZE);
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
	KUNIT_EXPECT_TRUE_MSG(test, gst_unreachable_at(c->log, c, r, returned_at),
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
	gst_log_init(&g->log);
	g->tlb_latency_us = GST_TLB_LATENCY_US;
	test->priv = g;
	return 0;
}

static void gst_mmput(void *mm)
{
	mmput(mm);
}

/*
 * The test's mapping in its own mm, and its aligned range. The test holds
 * the mm (an action, after every client and probe is gone): the case ends
 * with tp_detach_mm(), and exit_mmap() must not run before the cleanup.
 */
static void gst_map(struct kunit *test)
{
	struct gst *g = test->priv;
	bool first = !current->mm;

	g->addr = kunit_vm_mmap(test, NULL, 0, GST_PAGES * PAGE_SIZE,
				PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !g->addr || IS_ERR_VALUE(g->addr),
			       "kunit_vm_mmap(): %ld", (long)g->addr);
	g->mm = current->mm;
	g->chunk = ALIGN(g->addr, GST_CHUNK);
	if (first) {
		mmget(g->mm);
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gst_mmput, g->mm), 0);
	}
}

/* @n clients, each with the aligned range bound. */
static void gst_setup(struct kunit *test, unsigned int n, struct gst_range **ranges)
{
	struct gst *g = test->priv;
	unsigned int i;

	gst_map(test);
	for (i = 0; i < n; i++) {
		struct gst_client *c = gst_client_new(test, g->mm);

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

	/* A walk parked here, or about to be, must not keep the removal waiting. */
	atomic_set(&p->park, 0);
	complete_all(p->release);
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

	gst_expect_invalidated(test, c, r, before, gst_log_now(&g->log), "munmap");
	KUNIT_EXPECT_EQ(test, c->last_event, MMU_NOTIFY_UNMAP);
	KUNIT_EXPECT_TRUE(test, r->base.flags.unmapped);
	KUNIT_EXPECT_FALSE(test, r->base.flags.partial_unmap);
	KUNIT_EXPECT_TRUE(test, r->pages.flags.unmapped);
	tp_detach_mm();
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

	gst_expect_invalidated(test, c, r, before, gst_log_now(&g->log), "partial munmap");
	KUNIT_EXPECT_TRUE(test, r->base.flags.unmapped);
	KUNIT_EXPECT_TRUE(test, r->base.flags.partial_unmap);
	tp_detach_mm();
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

	gst_expect_invalidated(test, c, r, before, gst_log_now(&g->log), "mremap");
	KUNIT_EXPECT_EQ(test, c->last_event, MMU_NOTIFY_UNMAP);
	KUNIT_EXPECT_TRUE(test, r->base.flags.unmapped);
	KUNIT_EXPECT_FALSE(test, r->base.flags.partial_unmap);

	moved = gst_range_in(test, c, to, area, area + 2 * GST_CHUNK);
	KUNIT_EXPECT_EQ(test, gst_bind(test, c, moved, NULL), 0);
	gst_expect_bound(test, c, moved, "bind at the new address");
	KUNIT_EXPECT_EQ_MSG(test, moved->pages.dma_addr[0].addr, page,
			    "mremap() did not move the page: the case copied, not moved");
	tp_detach_mm();
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

	gst_expect_invalidated(test, c, r, before, gst_log_now(&g->log), "madvise(MADV_DONTNEED)");
	KUNIT_EXPECT_NE(test, c->last_event, MMU_NOTIFY_UNMAP);
	KUNIT_EXPECT_FALSE(test, r->base.flags.unmapped);
	KUNIT_EXPECT_EQ(test, gst_bind(test, c, r, NULL), 0);
	gst_expect_bound(test, c, r, "rebind");
	tp_detach_mm();
}

/*
 * MADV_DONTNEED over two ranges, one bound and one made but not given
 * pages yet (a fault in progress): a first pass that revokes pages it will
 * not unmap leaves the mark behind, and the second range never binds.
 */
static void drm_gpusvm_revoke_skips_unmapped(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_range *r, *empty;
	struct gst_client *c;
	struct gst_seen before;

	r = gst_setup_one(test, &c, &before);
	empty = gst_range(test, c, g->chunk + GST_CHUNK);

	KUNIT_ASSERT_EQ(test, do_madvise(g->mm, g->chunk, 2 * GST_CHUNK, MADV_DONTNEED), 0);

	gst_expect_invalidated(test, c, r, before, gst_log_now(&g->log), "madvise");
	KUNIT_EXPECT_EQ(test, gst_bind(test, c, empty, NULL), 0);
	gst_expect_bound(test, c, empty, "the range that had no pages");
	tp_detach_mm();
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
	tp_detach_mm();
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
	tp_detach_mm();
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
	c = gst_client_new(test, g->mm);
	r = gst_range(test, c, g->chunk);

	KUNIT_EXPECT_EQ(test, gst_bind(test, c, r, gst_race_invalidation), 1);
	KUNIT_EXPECT_EQ(test, c->invalidations, 1);
	gst_expect_bound(test, c, r, "the bind after the race");
	tp_detach_mm();
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
	tp_detach_mm();
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

	at = gst_log_now(&g->log);
	for (i = 0; i < GST_MAX_CLIENTS; i++) {
		gst_expect_invalidated(test, g->clients[i], r[i], before[i], at, "munmap");
		KUNIT_EXPECT_EQ(test, g->clients[i]->invalidations, 1);
	}
	spin_lock_irq(&g->log.lock);
	for (i = 0; i < min(at, GST_MAX_EVENTS); i++) {
		if (g->log.events[i].kind == GST_SENT)
			last_sent = i;
		if (g->log.events[i].kind == GST_UNMAP && first_unmap == UINT_MAX)
			first_unmap = i;
	}
	spin_unlock_irq(&g->log.lock);
	if (g->mode == GST_TWO_PASS)
		KUNIT_EXPECT_LT_MSG(test, last_sent, first_unmap,
				    "a device was started only after another's finish");
	else
		KUNIT_EXPECT_GT_MSG(test, last_sent, first_unmap,
				    "single pass: each device is waited for before the next");
	tp_detach_mm();
}

struct gst_inval_args {
	struct mm_struct *mm;
	unsigned long start, end;
	struct gst_log *log;
	unsigned int returned_at;	/* the log's length when it returned */
};

static void gst_inval_fn(void *arg)
{
	struct gst_inval_args *a = arg;

	gst_invalidate_range(a->mm, a->start, a->end);
	a->returned_at = gst_log_now(a->log);
}

/* Invalidate the test's range from a thread named @name. */
static struct tp_thread *gst_invalidation_thread(struct kunit *test, const char *name,
						 struct gst_inval_args **args)
{
	struct gst *g = test->priv;
	struct gst_inval_args *a = kunit_kzalloc(test, sizeof(*a), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, a);
	*a = (struct gst_inval_args){ g->mm, g->chunk, g->chunk + GST_CHUNK, &g->log };
	if (args)
		*args = a;
	return tp_thread_run(test, name, NULL, gst_inval_fn, a);
}

static void gst_tlb_complete_action(void *c)
{
	gst_tlb_complete_now(c);
}

/*
 * Invalidate the test's range from a thread and park that invalidation in
 * probe @p, after the clients' first passes; complete(p->release) lets it
 * go on.
 */
static struct tp_thread *gst_park_invalidation(struct kunit *test, struct gst_probe *p)
{
	struct tp_thread *t;

	atomic_set(&p->park, 1);
	t = gst_invalidation_thread(test, "gst-first", NULL);
	KUNIT_ASSERT_TRUE_MSG(test,
			      wait_for_completion_timeout(p->parked,
							  msecs_to_jiffies(GST_THREAD_MS)),
			      "the first invalidation never reached the probe");
	return t;
}

/*
 * A second invalidation of the range while the first is between its two
 * passes (parked by the probe): the first zapped the PTEs and sent the TLB
 * invalidation, so the second finds nothing to zap and, with the
 * notifier's finish busy, completes itself. It must not unmap the pages
 * and return before the first one's TLB invalidation completed. That
 * flush completes only when the test says, so a second invalidation that
 * returns early is seen whatever the timing; it gets a grace period to do
 * so, which a correct one spends waiting.
 */
static void drm_gpusvm_concurrent_busy_finish(struct kunit *test)
{
	struct gst *g = test->priv;
	struct tp_thread *first, *second;
	struct gst_inval_args *a;
	struct gst_seen before;
	struct gst_client *c;
	struct gst_probe *p;
	struct gst_range *r;

	/* Single pass: the first is over before the probe parks it. */
	if (g->mode == GST_TWO_PASS)
		g->tlb_latency_us = GST_TLB_HELD_US;
	r = gst_setup_one(test, &c, &before);
	p = gst_probe_insert(test, c, r);
	first = gst_park_invalidation(test, p);

	second = gst_invalidation_thread(test, "gst-second", &a);
	/* Before the threads are reaped, if the case stops early. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gst_tlb_complete_action, c), 0);
	tp_thread_wait(second, GST_GRACE_MS);
	gst_tlb_complete_now(c);
	KUNIT_ASSERT_TRUE_MSG(test, tp_thread_wait(second, GST_THREAD_MS),
			      "the second invalidation did not return");

	gst_expect_invalidated(test, c, r, before, a->returned_at, "the second invalidation");
	complete(p->release);
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(first, GST_THREAD_MS));
	tp_detach_mm();
}

struct gst_remove_args {
	struct gst_client *c;
	struct gst_range *r;
};

static void gst_remove_fn(void *arg)
{
	struct gst_remove_args *a = arg;

	gst_range_remove(a->c, a->r);
}

/*
 * The driver removes a range (its garbage collector) while an invalidation
 * is between its passes, parked by the probe, with the pages revoked and
 * the first pass's TLB invalidation in flight: the last reference's unmap
 * of the pages must wait for the invalidation's finish. The device's TLB
 * completes only when the test says, so an unmap before it is seen
 * whatever the timing; the remover gets a grace period to misbehave in,
 * which a correct drm_gpusvm spends blocked.
 */
static void drm_gpusvm_remove_between_passes(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_remove_args *ra;
	struct tp_thread *t, *remover;
	struct gst_client *c;
	struct gst_probe *p;
	struct gst_range *r;

	/* Single pass: the invalidation is over before the probe parks it. */
	if (g->mode == GST_TWO_PASS)
		g->tlb_latency_us = GST_TLB_HELD_US;
	gst_map(test);
	c = gst_client_new(test, g->mm);
	r = gst_range(test, c, g->chunk);
	gst_bind(test, c, r, NULL);
	p = gst_probe_insert(test, c, r);
	ra = kunit_kzalloc(test, sizeof(*ra), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ra);
	*ra = (struct gst_remove_args){ c, r };
	t = gst_park_invalidation(test, p);

	remover = tp_thread_run(test, "gst-remove", NULL, gst_remove_fn, ra);
	/* Before the threads are reaped, if the case stops early. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, gst_tlb_complete_action, c), 0);
	tp_thread_wait(remover, GST_GRACE_MS);
	gst_tlb_complete_now(c);
	complete(p->release);
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(t, GST_THREAD_MS));
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(remover, GST_THREAD_MS));

	/* @r is freed: only its address is compared in the log. */
	KUNIT_EXPECT_TRUE_MSG(test, gst_unreachable_at(&g->log, c, r, gst_log_now(&g->log)),
			      "the removal unmapped the pages before the TLB invalidation completed");
	tp_detach_mm();
}

/* __mmu_notifier_release() calls it right after the interval notifiers' walk. */
static void gst_release_mark(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct gst *g = container_of(mn, struct gst, release_mark);
	unsigned long flags;

	spin_lock_irqsave(&g->log.lock, flags);
	g->release_at = g->log.nr;
	g->release_seen = true;
	spin_unlock_irqrestore(&g->log.lock, flags);
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
	c = gst_client_new(test, mm);
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
	KUNIT_CASE_PARAM(drm_gpusvm_revoke_skips_unmapped, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_other_range_untouched, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_nonblock_refused, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_bind_races_invalidation, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_bind_between_passes, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_n_clients, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_concurrent_busy_finish, gst_mode_gen_params),
	KUNIT_CASE_PARAM(drm_gpusvm_remove_between_passes, gst_mode_gen_params),
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
