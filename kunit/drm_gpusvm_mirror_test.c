// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of drm_gpusvm's own code (drivers/gpu/drm/drm_gpusvm.c), through
 * a minimal client of the kind lib/test_hmm.c is for HMM: each client is one
 * device mirroring the test's mm with a struct drm_gpusvm, ranges made by
 * drm_gpusvm_range_find_or_insert(), pages by drm_gpusvm_get_pages() and a
 * bind that commits them under the notifier lock, as xe_svm.c does. Its
 * invalidate op does what a driver's must: zap the device's PTEs of every
 * range in the event, then DMA-unmap the pages and mark unmapped ranges.
 *
 * What is tested is drm_gpusvm: that every invalidation path of the core
 * (munmap, a partial munmap, mremap, madvise(MADV_DONTNEED), exit_mmap's
 * release walk, a direct range invalidation, a non-blocking start) reaches the
 * client under the notifier lock with the sequence advanced, that a bind
 * racing an invalidation sees its pages invalid and retries, that the
 * range flags say what was unmapped, and that several clients (GPUs)
 * mirroring one range are each invalidated. After every invalidation a
 * case checks, per client and per range, that the device can no longer
 * reach the old pages: PTEs zapped, no DMA mapping left, the pages no
 * longer valid, the sequence moved.
 */

#include <drm/drm_drv.h>
#include <drm/drm_gpusvm.h>
#include <drm/drm_kunit_helpers.h>
#include <drm/drm_pagemap.h>
#include <kunit/test.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/syscalls.h>

#include "rig_compat.h"

#define GST_MAX_CLIENTS	4
/* The mapping: 8 pages, in which a 16K-aligned chunk is one range. */
#define GST_PAGES	8
#define GST_CHUNK	SZ_16K
#define GST_BIND_TRIES	8

static const unsigned long gst_chunk_sizes[] = { GST_CHUNK, SZ_4K };

/* A range of a client: drm_gpusvm's, the pages, the device's PTEs. */
struct gst_range {
	struct drm_gpusvm_range base;
	struct drm_gpusvm_pages pages;
	bool ptes_live;		/* device PTEs map it; under the notifier lock */
};

/* One device mirroring the test's mm. */
struct gst_client {
	struct drm_gpusvm gpusvm;
	struct mutex lock;	/* the driver lock: range lookup, insert, remove */
	struct drm_device *drm;
	/* Under the notifier lock for write (the invalidate op). */
	unsigned int invalidations;
	unsigned int zaps;
	enum mmu_notifier_event last_event;
	unsigned long events_seen;	/* BIT(event) of every invalidation */
};

/* The test's state, test->priv. */
struct gst {
	struct mm_struct *mm;
	unsigned long addr;	/* the mapping, GST_PAGES long */
	unsigned long chunk;	/* the GST_CHUNK-aligned range inside it */
	struct gst_client *clients[GST_MAX_CLIENTS];
	unsigned int nr_clients;
	/* The DMA device of every client: KUnit devices need unique names. */
	struct drm_device *drm;
};

static struct gst_range *to_gst_range(struct drm_gpusvm_range *r)
{
	return container_of(r, struct gst_range, base);
}

static struct gst_client *to_gst_client(struct drm_gpusvm *gpusvm)
{
	return container_of(gpusvm, struct gst_client, gpusvm);
}

/* --- the client's ops --------------------------------------------------- */

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

/*
 * What a driver's invalidate must do, under the notifier lock for write:
 * stop the device (zap the PTEs of every range in the event; a real
 * device would also flush its TLB here and wait for it), then DMA-unmap
 * the pages, and mark the ranges an munmap() removed.
 */
static void gst_invalidate(struct drm_gpusvm *gpusvm,
			   struct drm_gpusvm_notifier *notifier,
			   const struct mmu_notifier_range *mmu_range)
{
	struct drm_gpusvm_ctx ctx = { .in_notifier = true };
	struct gst_client *c = to_gst_client(gpusvm);
	struct drm_gpusvm_range *range = NULL;

	lockdep_assert_held_write(&gpusvm->notifier_lock);
	c->invalidations++;
	c->last_event = mmu_range->event;
	c->events_seen |= BIT(mmu_range->event);
	drm_gpusvm_for_each_range(range, notifier, mmu_range->start, mmu_range->end) {
		struct gst_range *r = to_gst_range(range);

		if (r->ptes_live) {
			r->ptes_live = false;
			c->zaps++;
		}
		drm_gpusvm_unmap_pages(gpusvm, &r->pages,
				       drm_gpusvm_range_size(range) >> PAGE_SHIFT, &ctx);
		if (mmu_range->event == MMU_NOTIFY_UNMAP)
			drm_gpusvm_range_set_unmapped(range, &r->pages, 1, mmu_range);
	}
}

static const struct drm_gpusvm_ops gst_ops = {
	.range_alloc = gst_range_alloc,
	.range_free = gst_range_free,
	.invalidate = gst_invalidate,
};

/* --- clients, ranges, binds -------------------------------------------- */

static void gst_client_fini(void *arg)
{
	struct gst_client *c = arg;

	mutex_lock(&c->lock);
	drm_gpusvm_fini(&c->gpusvm);
	mutex_unlock(&c->lock);
	mutex_destroy(&c->lock);
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
	mutex_init(&c->lock);
	err = drm_gpusvm_init(&c->gpusvm, "drm-gpusvm-mirror-test", mm, 0, TASK_SIZE,
			      SZ_2M, &gst_ops, gst_chunk_sizes,
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
 * After an invalidation of @r's pages on @c returned: the client was
 * called, the device's PTEs are gone, drm_gpusvm holds no DMA mapping of
 * the old pages and calls them invalid, and the notifier's sequence moved
 * past the one the bind saw (a bind would retry).
 */
static void gst_expect_invalidated(struct kunit *test, struct gst_client *c,
				   struct gst_range *r, struct gst_seen before,
				   const char *who)
{
	bool called, ptes_live, valid, mapped;

	down_read(&c->gpusvm.notifier_lock);
	called = c->invalidations > before.invalidations;
	ptes_live = r->ptes_live;
	valid = drm_gpusvm_pages_valid(&c->gpusvm, &r->pages);
	mapped = r->pages.flags.has_dma_mapping;
	up_read(&c->gpusvm.notifier_lock);

	KUNIT_EXPECT_TRUE_MSG(test, called, "%s: the client was not invalidated", who);
	KUNIT_EXPECT_FALSE_MSG(test, ptes_live, "%s: device PTEs still live", who);
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

	gst_expect_invalidated(test, c, r, before, "munmap");
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

	gst_expect_invalidated(test, c, r, before, "partial munmap");
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

	gst_expect_invalidated(test, c, r, before, "mremap");
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

	gst_expect_invalidated(test, c, r, before, "madvise(MADV_DONTNEED)");
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

/* Invalidate [start, end) of @mm through the core, as migration or reclaim does. */
static void gst_invalidate_range(struct mm_struct *mm, unsigned long start,
				 unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
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

/* N clients (N GPUs) mirror one range: one munmap() invalidates each. */
static void drm_gpusvm_n_clients(struct kunit *test)
{
	struct gst *g = test->priv;
	struct gst_range *r[GST_MAX_CLIENTS];
	struct gst_seen before[GST_MAX_CLIENTS];
	unsigned int i;

	gst_setup(test, GST_MAX_CLIENTS, r);
	for (i = 0; i < GST_MAX_CLIENTS; i++)
		before[i] = gst_before(g->clients[i], r[i]);

	KUNIT_ASSERT_EQ(test, vm_munmap(g->chunk, GST_CHUNK), 0);

	for (i = 0; i < GST_MAX_CLIENTS; i++) {
		gst_expect_invalidated(test, g->clients[i], r[i], before[i], "munmap");
		KUNIT_EXPECT_EQ(test, g->clients[i]->invalidations, 1);
	}
}

/*
 * exit_mmap()'s release walk, in an mm of the test's own: the client is
 * invalidated once more, with the mm going away under it.
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
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	kthread_use_mm(mm);
	g->addr = vm_mmap(NULL, 0, GST_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
			  MAP_ANONYMOUS | MAP_PRIVATE, 0);
	kthread_unuse_mm(mm);
	if (IS_ERR_VALUE(g->addr)) {
		mmput(mm);
		KUNIT_FAIL_AND_ABORT(test, "vm_mmap() failed: %ld", (long)g->addr);
	}
	g->mm = mm;
	g->chunk = ALIGN(g->addr, GST_CHUNK);
	/* drm_gpusvm holds the mm with mmgrab(): the client outlives its pages. */
	c = gst_client_create(test, mm);
	r = gst_range(test, c, g->chunk);
	gst_bind(test, c, r, NULL);
	before = gst_before(c, r);

	mmput(mm);	/* exit_mmap(): the release walk */

	gst_expect_invalidated(test, c, r, before, "exit_mmap");
	/* The release walk, then exit_mmap()'s unmap of the VMAs. */
	KUNIT_EXPECT_TRUE(test, c->events_seen & BIT(MMU_NOTIFY_RELEASE));
}

static struct kunit_case drm_gpusvm_mirror_tests[] = {
	KUNIT_CASE(drm_gpusvm_munmap),
	KUNIT_CASE(drm_gpusvm_partial_munmap),
	KUNIT_CASE(drm_gpusvm_mremap),
	KUNIT_CASE(drm_gpusvm_madvise_dontneed),
	KUNIT_CASE(drm_gpusvm_other_range_untouched),
	KUNIT_CASE(drm_gpusvm_nonblock_refused),
	KUNIT_CASE(drm_gpusvm_bind_races_invalidation),
	KUNIT_CASE(drm_gpusvm_n_clients),
	KUNIT_CASE(drm_gpusvm_release_walk),
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
