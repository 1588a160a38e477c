// SPDX-License-Identifier: GPL-2.0 AND MIT
/*
 * KUnit tests of xe's SVM notifier as shipped: xe_svm_invalidate(), called
 * by drm_gpusvm's single-pass interval notifier, on xe's fake device. The
 * upstream test hook includes this file at the end of xe_svm.c, which is
 * built only with DRM_XE_GPUSVM (ZONE_DEVICE, not UML): the suite runs in
 * the x86_64 profile (smp).
 *
 * A fault-mode xe_vm is built by hand, as xe_userptr_test.c builds one,
 * and then set up by xe's own xe_svm_init(); ranges are created and their
 * pages mapped by xe's own xe_svm_range_find_or_insert() and
 * xe_svm_range_get_pages() (hmm_range_fault() and the DMA mapping of
 * drm_gpusvm). The bind is the test's: under the notifier lock, with the
 * pages still valid, it marks tile 0 present, as xe's PT commit does.
 * Invalidations come through the core (munmap(), MADV_DONTNEED, exit_mmap()'s
 * release walk, a direct range invalidation, a non-blocking start). Everything from the notifier
 * to the hardware is xe's and drm_gpusvm's code; the hardware boundary is
 * replaced with KUnit static stubs:
 *
 * - xe_pt_zap_ptes_range(), past xe's own check of which tiles have PTEs
 *   left, clears the fake PTEs of the range: every fence of the VM's resv
 *   must have signalled by then (xe waits before it zaps);
 * - xe_tlb_inval_range_tilemask_submit() sends a fake TLB invalidation (a
 *   dma_fence signalled XST_TLB_LATENCY_MS later) that must cover the
 *   range's addresses;
 * - xe_tlb_inval_batch_wait() waits for it: the range's pages must still be
 *   DMA-mapped then (xe unmaps them only once the GPU cannot reach them).
 *
 * Every zap, submit and wait is an event in one log, and an invalidation is
 * judged at the point of the log where it returned: a TLB flush sent after
 * its VM's last zap must have been waited for before that point, so a
 * notifier that returns while the GPU can still reach a page fails,
 * whatever the timing. After it, the pages are invalid and DMA-unmapped.
 *
 * The event log, the fake TLB and the fences follow xe_userptr_test.c.
 * They are not shared with it yet: that suite also builds on 6.12, whose
 * TLB batch API differs, and a header both include is the next step.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <kunit/test-bug.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>

#include "tests/xe_kunit_helpers.h"
#include "xe_gt_stats.h"
#include "xe_pt.h"
#include "xe_tlb_inval.h"

/*
 * 64K chunks, xe's fault chunk size here: a mapping of three holds two
 * aligned ones, the first at x->chunk, covered by the VMs' mirror VMA.
 */
#define XST_CHUNK		SZ_64K
#define XST_MAP_SIZE		(3 * XST_CHUNK)
#define XST_MAX_VMS		4
#define XST_MAX_TLB		16
#define XST_MAX_EVENTS		64
#define XST_MAX_FENCES		8
#define XST_FENCE_LATENCY_MS	20
#define XST_TLB_LATENCY_MS	10
#define XST_THREAD_TIMEOUT_MS	10000
#define XST_BIND_TRIES		16

enum xst_event_kind { XST_ZAP, XST_SUBMIT, XST_WAIT };

/*
 * What a stub saw xe do wrong. The stubs run under the notifier lock, in
 * the mmu_notifier lockdep map, where a KUnit failure (it allocates) may
 * not be raised: they record it, and the test thread reports it.
 */
enum xst_violation {
	XST_ZAP_FENCE_PENDING,		/* zapped with a fence of the resv pending */
	XST_ZAP_TWICE,			/* zapped a tile it had marked invalidated */
	XST_ZAP_CLOSED,			/* zapped PTEs of a closed VM */
	XST_UNMAPPED_IN_FLUSH,		/* DMA-unmapped before the flush completed */
	XST_UNKNOWN_VM,			/* a VM or asid the test did not create */
	XST_NR_VIOLATIONS
};

static const char * const xst_violation_names[XST_NR_VIOLATIONS] = {
	[XST_ZAP_FENCE_PENDING] = "xe zapped PTEs with a fence of the VM's resv pending",
	[XST_ZAP_TWICE] = "xe zapped a tile of a range it had marked invalidated",
	[XST_ZAP_CLOSED] = "xe zapped PTEs of a closed VM",
	[XST_UNMAPPED_IN_FLUSH] = "xe DMA-unmapped pages before their TLB flush completed",
	[XST_UNKNOWN_VM] = "a VM or asid the test did not create",
};

/* One fake TLB invalidation, sent by the submit stub. */
struct xst_tlb {
	struct dma_fence fence;		/* signalled by @work */
	struct delayed_work work;
	unsigned int vm;		/* index in xst.vms */
	u64 start, end;			/* the addresses it invalidates */
	unsigned int sent_at;		/* its event in the log */
	bool waited;			/* the batch wait returned on it, */
	unsigned int waited_at;		/* at this event */
};

/* A fake GPU VM: xe's structures and what the fake hardware saw. */
struct xst_vm {
	struct xe_vm *vm;
	struct xe_vma vma;		/* the CPU-address-mirror VMA */
	struct xe_svm_range *range;	/* bound by xst_bind() */
	bool ptes_live;			/* GPU PTEs map the range */
	bool closed;
};

/* The test's state, test->priv. */
struct xst {
	struct kunit *test;
	struct xe_device *xe;
	struct mm_struct *mm;
	unsigned long chunk;	/* XST_CHUNK-aligned, inside the mapping */
	u64 tlb_context;	/* the fence context of the fake TLB */
	/* Protects the fields below and the fake hardware state of the VMs. */
	spinlock_t lock;
	struct xst_vm vms[XST_MAX_VMS];
	unsigned int nr_vms;
	struct xst_tlb tlb[XST_MAX_TLB];
	unsigned int nr_tlb;
	bool tlb_overflow;
	struct dma_fence *fences[XST_MAX_FENCES];	/* a reference each */
	unsigned int nr_fences;
	struct { enum xst_event_kind kind; unsigned int vm; } events[XST_MAX_EVENTS];
	unsigned int nr_events;
	unsigned long violations;	/* BIT(enum xst_violation) */
	/*
	 * A plain mmu_notifier whose release op marks where exit_mmap()'s
	 * release walk of the interval notifiers returned (release_at).
	 */
	struct mmu_notifier release_mark;
	unsigned int release_at;
	bool release_seen;
	/*
	 * The next batch wait parks here until the test releases it; a
	 * probe's walk parks on the same completions.
	 */
	atomic_t park_armed;
	struct completion parked;
	struct completion release;
};

static struct xst *xst_current(void)
{
	return kunit_get_current_test()->priv;
}

/* Log an event and return its index; caller holds x->lock. */
static unsigned int xst_event(struct xst *x, enum xst_event_kind kind, unsigned int vm)
{
	if (x->nr_events < XST_MAX_EVENTS) {
		x->events[x->nr_events].kind = kind;
		x->events[x->nr_events].vm = vm;
	}
	return x->nr_events++;
}

/* The point of the log an invalidation returned at: events before it. */
static unsigned int xst_now(struct xst *x)
{
	unsigned int now;

	spin_lock(&x->lock);
	now = x->nr_events;
	spin_unlock(&x->lock);
	return now;
}

/* Record what a stub saw; caller holds x->lock. */
static void xst_violate(struct xst *x, enum xst_violation v)
{
	x->violations |= BIT(v);
}

/* Report, from the test thread, what the stubs recorded. */
static void xst_expect_no_violation(struct kunit *test, const char *who)
{
	struct xst *x = test->priv;
	unsigned long violations;
	unsigned int v;

	spin_lock(&x->lock);
	violations = x->violations;
	spin_unlock(&x->lock);
	for_each_set_bit(v, &violations, XST_NR_VIOLATIONS)
		KUNIT_FAIL(test, "%s: %s", who, xst_violation_names[v]);
}

/* @vm's index in x->vms; caller holds x->lock. */
static unsigned int xst_vm_index(struct xst *x, struct xe_vm *vm)
{
	unsigned int i;

	for (i = 0; i < x->nr_vms; i++)
		if (x->vms[i].vm == vm)
			return i;
	xst_violate(x, XST_UNKNOWN_VM);
	return 0;
}

/* --- the hardware boundary ---------------------------------------------- */

/*
 * Called by xe_pt_zap_ptes_range() in place of its page-table walk, once
 * xe's own check found PTEs of @tile left in @range: whether anything is
 * zapped is xe's decision. xe waits for the VM's fences before it zaps.
 */
static bool xst_pt_zap_ptes_range(struct xe_tile *tile, struct xe_vm *vm,
				  struct xe_svm_range *range)
{
	struct xst *x = xst_current();
	bool pending = !dma_resv_test_signaled(xe_vm_resv(vm), DMA_RESV_USAGE_BOOKKEEP);
	unsigned int i;

	spin_lock(&x->lock);
	i = xst_vm_index(x, vm);
	if (pending)
		xst_violate(x, XST_ZAP_FENCE_PENDING);
	/* What xe's own check says: the walk would find nothing. */
	if (READ_ONCE(range->tile_invalidated) & BIT(tile->id))
		xst_violate(x, XST_ZAP_TWICE);
	/* A closed VM's page tables may be going away: xe must not walk them. */
	if (xe_vm_is_closed(vm))
		xst_violate(x, XST_ZAP_CLOSED);
	x->vms[i].ptes_live = false;
	xst_event(x, XST_ZAP, i);
	spin_unlock(&x->lock);
	return true;
}

static const char *xst_fence_name(struct dma_fence *fence)
{
	return "xe-svm-test";
}

/* A TLB fence lives in the test's memory, freed with the test. */
static void xst_tlb_fence_release(struct dma_fence *fence)
{
}

static const struct dma_fence_ops xst_tlb_fence_ops = {
	.get_driver_name = xst_fence_name,
	.get_timeline_name = xst_fence_name,
	.release = xst_tlb_fence_release,
};

static void xst_tlb_work(struct work_struct *work)
{
	struct xst_tlb *t = container_of(to_delayed_work(work), struct xst_tlb, work);

	dma_fence_signal(&t->fence);
}

/* One call for all tiles of the tile mask; the VM is found by asid. */
static int xst_tlb_submit(struct xe_device *xe, u32 asid, u64 start, u64 end,
			  u8 tile_mask, struct xe_tlb_inval_batch *batch)
{
	struct xst *x = xst_current();
	struct xst_tlb *t;
	unsigned int idx;

	batch->num_fences = 0;
	if (!tile_mask)
		return 0;
	spin_lock(&x->lock);
	if (asid == 0 || asid > x->nr_vms) {
		xst_violate(x, XST_UNKNOWN_VM);
		spin_unlock(&x->lock);
		return -EINVAL;
	}
	if (x->nr_tlb == XST_MAX_TLB) {
		x->tlb_overflow = true;
		spin_unlock(&x->lock);
		return -ENOSPC;
	}
	/* Complete before nr_tlb publishes it to the readers of x->tlb. */
	idx = x->nr_tlb;
	t = &x->tlb[idx];
	t->vm = asid - 1;
	t->start = start;
	t->end = end;
	t->sent_at = xst_event(x, XST_SUBMIT, t->vm);
	dma_fence_init(&t->fence, &xst_tlb_fence_ops, NULL, x->tlb_context, idx + 1);
	INIT_DELAYED_WORK(&t->work, xst_tlb_work);
	x->nr_tlb = idx + 1;
	spin_unlock(&x->lock);

	queue_delayed_work(system_unbound_wq, &t->work,
			   msecs_to_jiffies(XST_TLB_LATENCY_MS));
	batch->fence[0].seqno = idx;
	batch->num_fences = 1;
	return 0;
}

/*
 * Waits for the fake TLB invalidations of @batch. The VM's range must still
 * be DMA-mapped: until the flush completes the GPU can reach its pages. If
 * the test armed the park, the first wait parks before it waits, with the
 * notifier lock held.
 */
static void xst_tlb_wait(struct xe_tlb_inval_batch *batch)
{
	struct xst *x = xst_current();
	unsigned int i;

	if (atomic_xchg(&x->park_armed, 0)) {
		complete(&x->parked);
		wait_for_completion(&x->release);
	}
	for (i = 0; i < batch->num_fences; i++) {
		struct xst_tlb *t = &x->tlb[batch->fence[i].seqno];
		struct xe_svm_range *range = READ_ONCE(x->vms[t->vm].range);
		/* Under the notifier lock the invalidation holds. */
		bool unmapped = range && !range->pages.flags.has_dma_mapping;

		if (unmapped) {
			spin_lock(&x->lock);
			xst_violate(x, XST_UNMAPPED_IN_FLUSH);
			spin_unlock(&x->lock);
		}
		dma_fence_wait(&t->fence, false);
		spin_lock(&x->lock);
		if (!t->waited) {
			t->waited = true;
			t->waited_at = xst_event(x, XST_WAIT, t->vm);
		}
		spin_unlock(&x->lock);
	}
	batch->num_fences = 0;
}

/* --- fences in the VM's resv -------------------------------------------- */

/*
 * A fence of another queue of the VM, preempt-style: the GPU is asked to
 * stop only once signalling is enabled (xe's wait enables it), and it
 * signals XST_FENCE_LATENCY_MS later. So it is pending at any zap that
 * comes before xe's wait, whatever the timing.
 */
struct xst_fence {
	struct dma_fence base;	/* first: the default release frees the struct */
	struct delayed_work work;
};

static void xst_fence_work(struct work_struct *work)
{
	struct xst_fence *f = container_of(to_delayed_work(work), struct xst_fence, work);

	dma_fence_signal(&f->base);
	dma_fence_put(&f->base);
}

static bool xst_fence_enable_signaling(struct dma_fence *fence)
{
	struct xst_fence *f = container_of(fence, struct xst_fence, base);

	dma_fence_get(&f->base);	/* the work's */
	queue_delayed_work(system_unbound_wq, &f->work,
			   msecs_to_jiffies(XST_FENCE_LATENCY_MS));
	return true;
}

static const struct dma_fence_ops xst_fence_ops = {
	.get_driver_name = xst_fence_name,
	.get_timeline_name = xst_fence_name,
	.enable_signaling = xst_fence_enable_signaling,
};

/* Add a pending fence to @v's resv; the test holds a reference until its exit. */
static struct dma_fence *xst_add_fence(struct kunit *test, struct xst_vm *v)
{
	struct xst *x = test->priv;
	struct dma_resv *resv = xe_vm_resv(v->vm);
	struct xst_fence *f;

	KUNIT_ASSERT_LT(test, x->nr_fences, XST_MAX_FENCES);
	f = kzalloc_obj(*f, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	/* A context of its own: dma_resv_add_fence() replaces a fence of the same. */
	/* Its own lock: the fence may outlive the test's memory by a signal. */
	dma_fence_init(&f->base, &xst_fence_ops, NULL, dma_fence_context_alloc(1), 1);
	INIT_DELAYED_WORK(&f->work, xst_fence_work);
	x->fences[x->nr_fences++] = &f->base;

	dma_resv_lock(resv, NULL);
	if (dma_resv_reserve_fences(resv, 1)) {
		dma_resv_unlock(resv);
		KUNIT_FAIL_AND_ABORT(test, "dma_resv_reserve_fences() failed");
	}
	dma_resv_add_fence(resv, dma_fence_get(&f->base), DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(resv);
	dma_fence_put(&f->base);	/* the resv's reference */
	return &f->base;
}

/* --- VMs and ranges ----------------------------------------------------- */

static void xst_put_resv_obj(void *obj)
{
	drm_gem_object_put(obj);
}

/*
 * Close @v's VM as xe_vm_close_and_put() does, without its GuC work: mark
 * it closed under both locks (an invalidation then only DMA-unmaps), then
 * xe_svm_close() and xe_svm_fini(), which removes the notifiers and waits
 * for a walk still in one. Called at the end of a case and by its action.
 */
/* What xe_vm_close() does first: from here an invalidation only DMA-unmaps. */
static void xst_vm_mark_closed(struct xe_vm *vm)
{
	down_write(&vm->lock);
	down_write(&vm->svm.gpusvm.notifier_lock);
	vm->size = 0;
	up_write(&vm->svm.gpusvm.notifier_lock);
	up_write(&vm->lock);
}

static void xst_vm_close(struct xst_vm *v)
{
	struct xe_vm *vm = v->vm;

	if (v->closed)
		return;
	v->closed = true;
	xst_vm_mark_closed(vm);
	xe_svm_close(vm);
	down_write(&vm->lock);
	xe_svm_fini(vm);
	up_write(&vm->lock);
}

static void xst_vm_close_action(void *arg)
{
	xst_vm_close(arg);
}

/* A fault-mode VM with SVM over the test's mm, and its mirror VMA. */
static struct xst_vm *xst_vm_create(struct kunit *test)
{
	struct xst *x = test->priv;
	struct xst_vm *v;
	struct xe_vm *vm;

	KUNIT_ASSERT_LT(test, x->nr_vms, XST_MAX_VMS);
	vm = kunit_kzalloc(test, sizeof(*vm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, vm);
	vm->xe = x->xe;
	vm->flags = XE_VM_FLAG_LR_MODE | XE_VM_FLAG_FAULT_MODE;
	vm->size = 1ull << x->xe->info.va_bits;	/* 0 means closed */
	vm->usm.asid = x->nr_vms + 1;		/* the submit stub finds the VM by it */
	init_rwsem(&vm->lock);
	/* The test's reference: each range takes one, the VM is never freed by xe. */
	kref_init(&vm->gpuvm.kref);
	vm->gpuvm.r_obj = drm_gpuvm_resv_object_alloc(&x->xe->drm);
	KUNIT_ASSERT_NOT_NULL(test, vm->gpuvm.r_obj);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xst_put_resv_obj,
							vm->gpuvm.r_obj), 0);

	v = &x->vms[x->nr_vms];
	v->vm = vm;
	v->vma.gpuva.vm = &vm->gpuvm;
	v->vma.gpuva.va.addr = x->chunk;
	v->vma.gpuva.va.range = 2 * XST_CHUNK;
	v->vma.gpuva.flags = XE_VMA_SYSTEM_ALLOCATOR;

	KUNIT_ASSERT_EQ(test, xe_svm_init(vm), 0);
	/* Its queue is the page-fault queue, which the fake device has not. */
	disable_work(&vm->svm.garbage_collector.work);
	x->nr_vms++;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xst_vm_close_action, v), 0);
	return v;
}

/*
 * Mirror the test's chunk in @v through xe's own range and pages code; with
 * @commit, bind it as xe's PT commit does: under the notifier lock, only
 * with the pages still valid (else get them again), tile 0 present, PTEs
 * live.
 */
static struct xe_svm_range *xst_mirror_at(struct kunit *test, struct xst_vm *v,
					  unsigned long addr, bool commit)
{
	struct drm_gpusvm_ctx ctx = { .check_pages_threshold = 0 };
	struct xst *x = test->priv;
	struct xe_vm *vm = v->vm;
	struct xe_svm_range *r;
	unsigned int tries;
	bool valid = false;

	down_write(&vm->lock);
	r = xe_svm_range_find_or_insert(vm, addr, &v->vma, &ctx);
	up_write(&vm->lock);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(r), "xe_svm_range_find_or_insert(): %ld",
			       PTR_ERR(r));
	KUNIT_ASSERT_EQ(test, xe_svm_range_start(r), addr);
	KUNIT_ASSERT_EQ(test, xe_svm_range_size(r), (unsigned long)XST_CHUNK);

	for (tries = 0; !valid && tries < XST_BIND_TRIES; tries++) {
		KUNIT_ASSERT_EQ(test, xe_svm_range_get_pages(vm, r, &ctx), 0);
		xe_svm_notifier_lock(vm);
		valid = xe_svm_range_pages_valid(r);
		if (valid && commit) {
			r->tile_present |= BIT(0);
			WRITE_ONCE(r->tile_invalidated, r->tile_invalidated & ~BIT(0));
			spin_lock(&x->lock);
			v->ptes_live = true;
			spin_unlock(&x->lock);
		}
		xe_svm_notifier_unlock(vm);
	}
	KUNIT_ASSERT_TRUE_MSG(test, valid, "the pages never stayed valid to the commit");
	return r;
}

/* The range at x->chunk, the one the checks and the wait stub look at. */
static void xst_mirror(struct kunit *test, struct xst_vm *v, bool commit)
{
	struct xst *x = test->priv;

	/* Read by the wait stub in the invalidating threads. */
	WRITE_ONCE(v->range, xst_mirror_at(test, v, x->chunk, commit));
}

static void xst_bind(struct kunit *test, struct xst_vm *v)
{
	xst_mirror(test, v, true);
}

/* --- what an invalidation must leave ----------------------------------- */

/*
 * Whether a TLB flush of VM @vm sent after its last zap before event
 * @returned_at was waited for before that event: judged per invalidation,
 * at the point of the log where it returned.
 */
static bool xst_flushed_before(struct kunit *test, unsigned int vm,
			       unsigned int returned_at)
{
	struct xst *x = test->priv;
	bool zapped = false, flushed = false;
	unsigned int i, zapped_at = 0;

	KUNIT_ASSERT_LE(test, returned_at, XST_MAX_EVENTS);
	spin_lock(&x->lock);
	for (i = 0; i < returned_at; i++) {
		if (x->events[i].kind == XST_ZAP && x->events[i].vm == vm) {
			zapped = true;
			zapped_at = i;
		}
	}
	for (i = 0; zapped && i < x->nr_tlb; i++) {
		struct xst_tlb *t = &x->tlb[i];

		if (t->vm == vm && t->sent_at > zapped_at && t->waited &&
		    t->waited_at < returned_at)
			flushed = true;
	}
	spin_unlock(&x->lock);
	return flushed;
}

/* Whether a TLB flush of VM @vm covered [@start, @end). */
static bool xst_tlb_covered(struct xst *x, unsigned int vm, u64 start, u64 end)
{
	bool covered = false;
	unsigned int i;

	spin_lock(&x->lock);
	for (i = 0; i < x->nr_tlb; i++)
		if (x->tlb[i].vm == vm && x->tlb[i].start <= start && x->tlb[i].end >= end)
			covered = true;
	spin_unlock(&x->lock);
	return covered;
}

/* Whether @v's range still holds its DMA mapping (under the notifier lock). */
static bool xst_range_mapped(struct xst_vm *v)
{
	bool mapped;

	xe_svm_notifier_lock(v->vm);
	mapped = v->range->pages.flags.has_dma_mapping;
	xe_svm_notifier_unlock(v->vm);
	return mapped;
}

/* Whether @v's fake PTEs map the range (under x->lock). */
static bool xst_ptes_live(struct xst *x, struct xst_vm *v)
{
	bool live;

	spin_lock(&x->lock);
	live = v->ptes_live;
	spin_unlock(&x->lock);
	return live;
}

/*
 * After an invalidation of @v's range returned, at event @returned_at, the
 * GPU can no longer reach the old pages: the PTEs are zapped and a TLB
 * flush covering the range, sent after the zap, was waited for before it
 * returned; the notifier's sequence moved past the bind's and the pages
 * are no longer DMA-mapped; every fence of the VM's resv has signalled.
 */
static void xst_expect_invalidated(struct kunit *test, struct xst_vm *v,
				   unsigned int returned_at, const char *who)
{
	struct xst *x = test->priv;
	struct xe_svm_range *r = v->range;
	unsigned int i = v - x->vms;
	bool ptes_live, retry, mapped, covered;

	xst_expect_no_violation(test, who);
	ptes_live = xst_ptes_live(x, v);
	xe_svm_notifier_lock(v->vm);
	retry = mmu_interval_read_retry(&r->base.notifier->notifier, r->pages.notifier_seq);
	mapped = r->pages.flags.has_dma_mapping;
	xe_svm_notifier_unlock(v->vm);

	KUNIT_EXPECT_FALSE_MSG(test, ptes_live, "%s: VM %u's GPU PTEs still live", who, i);
	KUNIT_EXPECT_TRUE_MSG(test, xst_flushed_before(test, i, returned_at),
			      "%s: VM %u returned before a TLB flush sent after the zap completed",
			      who, i);
	covered = xst_tlb_covered(x, i, xe_svm_range_start(r), xe_svm_range_end(r));
	KUNIT_EXPECT_TRUE_MSG(test, covered, "%s: no TLB flush of VM %u covered the range",
			      who, i);
	KUNIT_EXPECT_TRUE_MSG(test, retry, "%s: VM %u's notifier sequence did not move", who, i);
	KUNIT_EXPECT_FALSE_MSG(test, mapped, "%s: VM %u's pages still DMA-mapped", who, i);
	KUNIT_EXPECT_TRUE_MSG(test, dma_resv_test_signaled(xe_vm_resv(v->vm),
							   DMA_RESV_USAGE_BOOKKEEP),
			      "%s: VM %u returned with a fence of its resv pending", who, i);
}

/* Whether @v's range is queued for xe's garbage collector. */
static bool xst_queued_for_gc(struct xst_vm *v)
{
	struct xe_vm *vm = v->vm;
	bool queued;

	spin_lock(&vm->svm.garbage_collector.lock);
	queued = !list_empty(&v->range->garbage_collector_link);
	spin_unlock(&vm->svm.garbage_collector.lock);
	return queued;
}

static bool xst_fence_signaled(struct dma_fence *fence)
{
	return test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &fence->flags);
}

/* Every fake TLB invalidation sent was waited for. */
static void xst_expect_all_waited(struct kunit *test)
{
	struct xst *x = test->priv;
	unsigned int i, unwaited = 0;

	KUNIT_EXPECT_FALSE(test, x->tlb_overflow);
	spin_lock(&x->lock);
	for (i = 0; i < x->nr_tlb; i++)
		unwaited += !x->tlb[i].waited;
	spin_unlock(&x->lock);
	KUNIT_EXPECT_EQ_MSG(test, unwaited, 0, "TLB invalidations sent but never waited for");
}

static unsigned int xst_count(struct xst *x, enum xst_event_kind kind)
{
	unsigned int i, n = 0;

	spin_lock(&x->lock);
	for (i = 0; i < min(x->nr_events, XST_MAX_EVENTS); i++)
		n += x->events[i].kind == kind;
	spin_unlock(&x->lock);
	return n;
}

/* --- fixture ------------------------------------------------------------ */

/*
 * A test action registered in init, so it runs after every action of the
 * case: after the VMs are closed and the threads reaped, every fence and
 * fake TLB invalidation completes, so no worker outlives the memory it
 * signals.
 */
static void xst_flush(void *arg)
{
	struct xst *x = arg;
	unsigned int i;

	complete_all(&x->release);
	for (i = 0; i < x->nr_fences; i++) {
		/* Enables signalling of a fence nothing waited for. */
		dma_fence_wait(x->fences[i], false);
		dma_fence_put(x->fences[i]);
	}
	for (i = 0; i < x->nr_tlb; i++) {
		dma_fence_wait(&x->tlb[i].fence, false);
		cancel_delayed_work_sync(&x->tlb[i].work);
	}
}

static int xst_init(struct kunit *test)
{
	struct xe_gt *gt;
	struct xst *x;
	u8 id;

	x = kunit_kzalloc(test, sizeof(*x), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, x);
	xe_kunit_helper_xe_device_test_init(test);
	x->xe = test->priv;
	x->test = test;
	/* xe_device_wmb() writes a register on discrete parts. */
	KUNIT_ASSERT_FALSE(test, IS_DGFX(x->xe));
	/* The notifier counts its TLB invalidations into the GT's stats. */
	for_each_gt(gt, x->xe, id)
		KUNIT_ASSERT_EQ(test, xe_gt_stats_init(gt), 0);
	x->tlb_context = dma_fence_context_alloc(1);
	spin_lock_init(&x->lock);
	init_completion(&x->parked);
	init_completion(&x->release);
	test->priv = x;

	kunit_activate_static_stub(test, xe_pt_zap_ptes_range, xst_pt_zap_ptes_range);
	kunit_activate_static_stub(test, xe_tlb_inval_range_tilemask_submit, xst_tlb_submit);
	kunit_activate_static_stub(test, xe_tlb_inval_batch_wait, xst_tlb_wait);
	return kunit_add_action_or_reset(test, xst_flush, x);
}

/* The test's mapping in its own mm, and the aligned chunk inside it. */
static void xst_map(struct kunit *test)
{
	struct xst *x = test->priv;
	unsigned long addr;

	addr = kunit_vm_mmap(test, NULL, 0, XST_MAP_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr), "kunit_vm_mmap(): %ld",
			       (long)addr);
	x->mm = current->mm;
	x->chunk = ALIGN(addr, XST_CHUNK);
}

/* @n VMs, each with the chunk bound. */
static void xst_setup(struct kunit *test, unsigned int n)
{
	unsigned int i;

	xst_map(test);
	for (i = 0; i < n; i++)
		xst_bind(test, xst_vm_create(test));
}

/* Close every VM: no late walk of this test's mm reaches its notifiers. */
static void xst_close_all(struct kunit *test)
{
	struct xst *x = test->priv;
	unsigned int i;

	for (i = 0; i < x->nr_vms; i++)
		xst_vm_close(&x->vms[i]);
	xst_expect_no_violation(test, "the case");
}

/* Invalidate [start, end) of @mm through the core, as migration or reclaim does. */
static void xst_invalidate(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
}

/* --- threads ------------------------------------------------------------ */

/*
 * A kernel thread running one invalidation of [start, end), allocated with
 * kunit_kzalloc() and reaped by a test action before that memory is freed,
 * also when the test aborts: the action releases the park first.
 */
struct xst_thread {
	struct kunit *test;
	unsigned long start, end;
	unsigned int returned_at;	/* xst_now() when it returned */
	struct completion done;
};

static int xst_thread_fn(void *arg)
{
	struct xst_thread *t = arg;
	struct xst *x = t->test->priv;

	/* The stubs are looked up through current->kunit_test. */
	current->kunit_test = t->test;
	xst_invalidate(x->mm, t->start, t->end);
	t->returned_at = xst_now(x);
	current->kunit_test = NULL;
	/* Returned without a TLB wait: wake a test waiting for the park. */
	if (atomic_read(&x->park_armed))
		complete(&x->parked);
	complete_all(&t->done);
	return 0;
}

static void xst_thread_reap(void *arg)
{
	struct xst_thread *t = arg;

	complete_all(&((struct xst *)t->test->priv)->release);
	/*
	 * Unbounded: @t and the test's memory must outlive the thread. A
	 * thread that never returns is caught by the run's timeout, which
	 * names the case, not by freeing what it uses.
	 */
	wait_for_completion(&t->done);
}

static struct xst_thread *xst_thread_run(struct kunit *test, unsigned long start,
					 unsigned long end)
{
	struct task_struct *task;
	struct xst_thread *t;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->test = test;
	t->start = start;
	t->end = end;
	init_completion(&t->done);
	task = kthread_run(xst_thread_fn, t, "xe-svm-test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xst_thread_reap, t), 0);
	return t;
}

/*
 * Wait until a thread waits for @sem. A blocked down_write() signals
 * nothing, so this looks at the semaphore's wait list, a tick at a time,
 * for at most XST_THREAD_TIMEOUT_MS.
 */
static bool xst_wait_contended(struct rw_semaphore *sem)
{
	unsigned long timeout = jiffies + msecs_to_jiffies(XST_THREAD_TIMEOUT_MS);

	while (!rwsem_is_contended(sem)) {
		if (time_after(jiffies, timeout))
			return false;
		schedule_timeout_uninterruptible(1);
	}
	return true;
}

static bool xst_thread_join(struct xst_thread *t)
{
	return wait_for_completion_timeout(&t->done,
					   msecs_to_jiffies(XST_THREAD_TIMEOUT_MS));
}

/* --- the probe: between the two passes ---------------------------------- */

/*
 * The test's own interval notifier over the range's second page. The core
 * walks notifiers in the order of their starts, so it sees the VM after
 * xe's notifier (512M-aligned) in the same walk: between the first pass
 * and the finish of a two-pass notifier. It records what a bind would see
 * there, and can park that walk.
 */
struct xst_probe {
	struct mmu_interval_notifier mni;
	struct xst *x;
	struct xst_vm *v;
	unsigned long seq;	/* the range's pages' sequence at the bind */
	atomic_t park;		/* park the next walk, once, on x->parked */
	/* What the first walk found, under the notifier lock. */
	bool called, valid, seq_moved;
};

static bool xst_probe_invalidate(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq)
{
	struct xst_probe *p = container_of(mni, struct xst_probe, mni);
	struct xe_svm_range *r = p->v->range;

	if (!mmu_notifier_range_blockable(range))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	if (!p->called) {
		xe_svm_notifier_lock(p->v->vm);
		p->valid = xe_svm_range_pages_valid(r);
		p->seq_moved = mmu_interval_check_retry(&r->base.notifier->notifier, p->seq);
		xe_svm_notifier_unlock(p->v->vm);
		p->called = true;
	}
	if (atomic_cmpxchg(&p->park, 1, 0) == 1) {
		complete(&p->x->parked);
		wait_for_completion(&p->x->release);
	}
	return true;
}

static const struct mmu_interval_notifier_ops xst_probe_ops = {
	.invalidate = xst_probe_invalidate,
};

static void xst_probe_remove(void *arg)
{
	struct xst_probe *p = arg;

	mmu_interval_notifier_remove(&p->mni);
}

/* A probe of @v's bound range; removed by a test action. */
static struct xst_probe *xst_probe_insert(struct kunit *test, struct xst_vm *v)
{
	struct xst_probe *p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	struct xst *x = test->priv;

	KUNIT_ASSERT_NOT_NULL(test, p);
	p->x = x;
	p->v = v;
	xe_svm_notifier_lock(v->vm);
	p->seq = v->range->pages.notifier_seq;
	xe_svm_notifier_unlock(v->vm);
	KUNIT_ASSERT_EQ(test, mmu_interval_notifier_insert(&p->mni, x->mm,
							   x->chunk + PAGE_SIZE, PAGE_SIZE,
							   &xst_probe_ops), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xst_probe_remove, p), 0);
	return p;
}

/* --- cases -------------------------------------------------------------- */

struct xst_fence_param {
	bool pending;
	const char *name;
};

static const struct xst_fence_param xst_fence_params[] = {
	{ .pending = false, .name = "fences idle" },
	{ .pending = true, .name = "fences pending" },
};

static void xst_fence_param_desc(const struct xst_fence_param *f, char *desc)
{
	strscpy(desc, f->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(xst_fence_param, xst_fence_params, xst_fence_param_desc);

/*
 * One VM with the chunk bound, a fence of its resv pending if the case's
 * parameter says so, and a probe of its range.
 */
static struct xst_probe *xst_setup_probed(struct kunit *test)
{
	const struct xst_fence_param *fp = test->param_value;
	struct xst *x = test->priv;

	xst_setup(test, 1);
	if (fp->pending)
		xst_add_fence(test, &x->vms[0]);
	return xst_probe_insert(test, &x->vms[0]);
}

/*
 * munmap() of the mapping: an UNMAP event. xe waits for the VM's fences,
 * zaps, flushes the TLB and waits, DMA-unmaps, and queues the range,
 * marked unmapped, for its garbage collector.
 */
static void xe_svm_munmap(struct kunit *test)
{
	const struct xst_fence_param *p = test->param_value;
	struct xst *x = test->priv;
	struct dma_fence *f = NULL;
	struct xst_vm *v;

	xst_setup(test, 1);
	v = &x->vms[0];
	if (p->pending)
		f = xst_add_fence(test, v);

	KUNIT_ASSERT_EQ(test, vm_munmap(x->chunk, XST_CHUNK), 0);
	xst_expect_invalidated(test, v, xst_now(x), "munmap");
	if (f)
		KUNIT_EXPECT_TRUE(test, xst_fence_signaled(f));
	KUNIT_EXPECT_TRUE(test, v->range->base.flags.unmapped);
	KUNIT_EXPECT_TRUE_MSG(test, xst_queued_for_gc(v),
			      "the unmapped range was not queued for the garbage collector");
	KUNIT_EXPECT_EQ(test, xst_count(x, XST_SUBMIT), 1);
	xst_expect_all_waited(test);
	xst_close_all(test);
}

/*
 * munmap() of the range's first page: xe widens the invalidation to the
 * whole range, whose PTEs it zaps, so the TLB flush must cover all of it;
 * the range is marked partially unmapped for the garbage collector.
 */
static void xe_svm_partial_munmap(struct kunit *test)
{
	struct xst *x = test->priv;
	struct xst_vm *v;

	xst_setup(test, 1);
	v = &x->vms[0];

	KUNIT_ASSERT_EQ(test, vm_munmap(x->chunk, PAGE_SIZE), 0);
	xst_expect_invalidated(test, v, xst_now(x), "partial munmap");
	KUNIT_EXPECT_TRUE(test, v->range->base.flags.partial_unmap);
	KUNIT_EXPECT_TRUE(test, xst_queued_for_gc(v));
	xst_expect_all_waited(test);
	xst_close_all(test);
}

/*
 * munmap() from the middle of one bound range to the middle of the next:
 * xe zaps both whole ranges, so the TLB flush it sends must cover both,
 * from the first one's start to the second one's end.
 */
static void xe_svm_straddling_munmap(struct kunit *test)
{
	struct xst *x = test->priv;
	struct xe_svm_range *next;
	struct xst_vm *v;

	xst_setup(test, 1);
	v = &x->vms[0];
	next = xst_mirror_at(test, v, x->chunk + XST_CHUNK, true);

	KUNIT_ASSERT_EQ(test, vm_munmap(x->chunk + XST_CHUNK / 2, XST_CHUNK), 0);
	xst_expect_invalidated(test, v, xst_now(x), "munmap across two ranges");
	KUNIT_EXPECT_TRUE_MSG(test, xst_tlb_covered(x, 0, xe_svm_range_start(next),
						    xe_svm_range_end(next)),
			      "no TLB flush covered the second range");
	KUNIT_EXPECT_EQ(test, xst_count(x, XST_ZAP), 2);
	xst_expect_all_waited(test);
	xst_close_all(test);
}

/*
 * MADV_DONTNEED: a CLEAR event. The range is invalidated as by munmap but
 * stays in place, not unmapped and not queued for the garbage collector.
 */
static void xe_svm_madvise_dontneed(struct kunit *test)
{
	struct xst *x = test->priv;
	struct xst_vm *v;

	xst_setup(test, 1);
	v = &x->vms[0];

	KUNIT_ASSERT_EQ(test, do_madvise(x->mm, x->chunk, XST_CHUNK, MADV_DONTNEED), 0);
	xst_expect_invalidated(test, v, xst_now(x), "MADV_DONTNEED");
	KUNIT_EXPECT_FALSE(test, v->range->base.flags.unmapped);
	KUNIT_EXPECT_FALSE(test, xst_queued_for_gc(v));
	xst_expect_all_waited(test);
	xst_close_all(test);
}

/*
 * An invalidation inside the mapping but outside the mirrored range: xe
 * finds no range and returns; the range stays bound and its pages valid.
 */
static void xe_svm_other_range_untouched(struct kunit *test)
{
	struct xst *x = test->priv;
	struct xst_vm *v;

	xst_setup(test, 1);
	v = &x->vms[0];
	/* The rest of the mapping: at least a page after the chunk. */
	xst_invalidate(x->mm, x->chunk + XST_CHUNK, x->chunk + XST_CHUNK + PAGE_SIZE);

	KUNIT_EXPECT_TRUE(test, xst_range_mapped(v));
	KUNIT_EXPECT_TRUE(test, xst_ptes_live(x, v));
	KUNIT_EXPECT_EQ(test, xst_now(x), 0);
	xst_close_all(test);
}

/*
 * A non-blocking start (the OOM reaper's) on an SVM range: drm_gpusvm
 * refuses it (-EAGAIN), and nothing of the VM's state moves.
 */
static void xe_svm_nonblock_refused(struct kunit *test)
{
	struct xst *x = test->priv;
	struct mmu_notifier_range range;
	struct xst_vm *v;
	bool retry;

	xst_setup(test, 1);
	v = &x->vms[0];
	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, x->mm, x->chunk,
				x->chunk + XST_CHUNK);
	KUNIT_EXPECT_EQ(test, mmu_notifier_invalidate_range_start_nonblock(&range), -EAGAIN);

	xe_svm_notifier_lock(v->vm);
	retry = mmu_interval_read_retry(&v->range->base.notifier->notifier,
					v->range->pages.notifier_seq);
	xe_svm_notifier_unlock(v->vm);
	KUNIT_EXPECT_FALSE_MSG(test, retry, "the refused start moved the notifier sequence");
	KUNIT_EXPECT_TRUE(test, xst_range_mapped(v));
	KUNIT_EXPECT_TRUE(test, xst_ptes_live(x, v));
	KUNIT_EXPECT_EQ(test, xst_now(x), 0);
	xst_close_all(test);
}

/*
 * A range with pages but no binding: nothing to zap or flush, but its
 * pages are DMA-unmapped all the same.
 */
static void xe_svm_unbound_range(struct kunit *test)
{
	struct xst *x = test->priv;
	struct xst_vm *v;

	xst_map(test);
	v = xst_vm_create(test);
	xst_mirror(test, v, false);

	xst_invalidate(x->mm, x->chunk, x->chunk + XST_CHUNK);
	KUNIT_EXPECT_FALSE_MSG(test, xst_range_mapped(v), "an unbound range kept its DMA mapping");
	KUNIT_EXPECT_EQ(test, xst_now(x), 0);
	xst_close_all(test);
}

/*
 * A closed VM (what xe_vm_close() leaves while its page tables go away,
 * and what exit_mmap() meets after it): an invalidation touches no PTEs
 * and sends no flush, only DMA-unmaps, and queues nothing for the garbage
 * collector.
 */
static void xe_svm_closed_vm(struct kunit *test)
{
	struct xst *x = test->priv;
	struct xst_vm *v;

	xst_setup(test, 1);
	v = &x->vms[0];
	xst_vm_mark_closed(v->vm);

	KUNIT_ASSERT_EQ(test, vm_munmap(x->chunk, XST_CHUNK), 0);
	KUNIT_EXPECT_FALSE_MSG(test, xst_range_mapped(v),
			       "a closed VM's range kept its DMA mapping");
	KUNIT_EXPECT_FALSE(test, xst_queued_for_gc(v));
	KUNIT_EXPECT_EQ(test, xst_count(x, XST_ZAP), 0);
	KUNIT_EXPECT_EQ(test, xst_count(x, XST_SUBMIT), 0);
	xst_close_all(test);
}

/*
 * N VMs (N GPUs) mirroring one range, munmap: each VM is invalidated and
 * flushed before munmap returns. drm_gpusvm is single-pass, so each waits
 * for its flush before the next one zaps; the order is reported, not
 * asserted, until the two-pass conversion.
 */
static void xe_svm_n_vms(struct kunit *test)
{
	struct xst *x = test->priv;
	unsigned int i, returned_at, first_wait, last_submit = 0;

	xst_setup(test, XST_MAX_VMS);
	KUNIT_ASSERT_EQ(test, vm_munmap(x->chunk, XST_CHUNK), 0);
	returned_at = xst_now(x);
	for (i = 0; i < XST_MAX_VMS; i++)
		xst_expect_invalidated(test, &x->vms[i], returned_at, "munmap");
	KUNIT_EXPECT_EQ(test, xst_count(x, XST_SUBMIT), XST_MAX_VMS);
	KUNIT_EXPECT_EQ(test, xst_count(x, XST_WAIT), XST_MAX_VMS);
	xst_expect_all_waited(test);

	KUNIT_ASSERT_LE(test, returned_at, XST_MAX_EVENTS);
	spin_lock(&x->lock);
	for (first_wait = 0; first_wait < returned_at; first_wait++)
		if (x->events[first_wait].kind == XST_WAIT)
			break;
	for (i = 0; i < returned_at; i++)
		if (x->events[i].kind == XST_SUBMIT)
			last_submit = i;
	spin_unlock(&x->lock);
	kunit_info(test, "%u VMs: %s\n", XST_MAX_VMS, last_submit < first_wait ?
		   "every flush sent before the first wait (pipelined)" :
		   "a flush waited for before the last was sent (serial)");
#ifdef XST_TWO_PASS
	KUNIT_EXPECT_LT_MSG(test, last_submit, first_wait,
			    "two-pass: a VM's flush was sent only after another's was waited for");
#endif
	xst_close_all(test);
}

/*
 * Two invalidations of one range: the first is parked in xe's TLB wait,
 * after its zap and submit, with the notifier lock held; the second, of
 * part of the range, enters. The second must not return before the
 * first's flush completed (nothing of its own is left to zap: the first
 * marked the tile invalidated); each is judged where it returned.
 */
static void xe_svm_concurrent_in_flush(struct kunit *test)
{
	struct xst *x = test->priv;
	struct xst_thread *a, *b;
	unsigned long parked;
	struct xst_vm *v;

	xst_setup(test, 1);
	v = &x->vms[0];
	atomic_set(&x->park_armed, 1);
	a = xst_thread_run(test, x->chunk, x->chunk + XST_CHUNK);
	parked = wait_for_completion_timeout(&x->parked,
					     msecs_to_jiffies(XST_THREAD_TIMEOUT_MS));
	KUNIT_ASSERT_TRUE_MSG(test, parked, "the first invalidation never reached its flush");
	KUNIT_ASSERT_EQ_MSG(test, atomic_read(&x->park_armed), 0,
			    "the first invalidation returned without waiting for a TLB flush");
	b = xst_thread_run(test, x->chunk, x->chunk + PAGE_SIZE);
	KUNIT_ASSERT_TRUE_MSG(test, xst_wait_contended(&v->vm->svm.gpusvm.notifier_lock),
			      "the second invalidation never waited for the notifier lock");

	complete_all(&x->release);
	KUNIT_ASSERT_TRUE_MSG(test, xst_thread_join(a), "the first did not return");
	KUNIT_ASSERT_TRUE_MSG(test, xst_thread_join(b), "the second did not return");
	xst_expect_invalidated(test, v, a->returned_at, "the first");
	xst_expect_invalidated(test, v, b->returned_at, "the second");
	KUNIT_EXPECT_EQ(test, xst_count(x, XST_ZAP), 1);
	xst_expect_all_waited(test);
	xst_close_all(test);
}

/*
 * __mmu_notifier_release() calls the plain notifiers' release right after
 * the interval notifiers' release walk returned, before exit_mmap() unmaps
 * the VMAs: the point of the log the walk's invalidation is judged at.
 */
static void xst_release_mark(struct mmu_notifier *mn, struct mm_struct *mm)
{
	struct xst *x = container_of(mn, struct xst, release_mark);

	spin_lock(&x->lock);
	x->release_at = x->nr_events;
	x->release_seen = true;
	spin_unlock(&x->lock);
}

static const struct mmu_notifier_ops xst_release_mark_ops = {
	.release = xst_release_mark,
};

static void xst_release_mark_remove(void *arg)
{
	struct xst *x = arg;

	/* Drops the mm_count reference mmu_notifier_register() took. */
	mmu_notifier_unregister(&x->release_mark, x->mm);
}

static void xst_mmput(void *mm)
{
	mmput(mm);
}

/*
 * exit_mmap()'s release walk, on an mm of the test's own whose last user
 * goes away: xe's notifier is called with MMU_NOTIFY_RELEASE and must
 * leave the range unreachable before the walk returns, as for munmap().
 */
static void xe_svm_release_walk(struct kunit *test)
{
	struct xst *x = test->priv;
	struct mm_struct *mm;
	unsigned long addr;
	unsigned int at;
	struct xst_vm *v;
	bool seen;

	mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, mm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xst_mmput, mm), 0);
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	/*
	 * xe_svm_init() mirrors current->mm. A failed assertion below ends
	 * this kthread with @mm still in use; its exit drops that use.
	 */
	kthread_use_mm(mm);
	addr = vm_mmap(NULL, 0, XST_MAP_SIZE, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr), "vm_mmap(): %ld", (long)addr);
	x->mm = mm;
	x->chunk = ALIGN(addr, XST_CHUNK);
	v = xst_vm_create(test);
	xst_bind(test, v);
	kthread_unuse_mm(mm);
	x->release_mark.ops = &xst_release_mark_ops;
	KUNIT_ASSERT_EQ(test, mmu_notifier_register(&x->release_mark, mm), 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xst_release_mark_remove, x), 0);

	kunit_release_action(test, xst_mmput, mm);	/* exit_mmap() */

	spin_lock(&x->lock);
	seen = x->release_seen;
	at = x->release_at;
	spin_unlock(&x->lock);
	KUNIT_ASSERT_TRUE_MSG(test, seen, "exit_mmap() did not run the release walk");
	xst_expect_invalidated(test, v, at, "exit_mmap's release walk");
	xst_expect_all_waited(test);
	xst_close_all(test);
}

/*
 * A bind that got the pages before an invalidation and commits after its
 * first pass, before its finish: the pages, still DMA-mapped, must not be
 * valid to it there, and the notifier's sequence must have moved, else
 * xe's PT commit maps pages that are going away. The probe looks between
 * the passes (single-pass: after the whole invalidation).
 */
static void xe_svm_bind_between_passes(struct kunit *test)
{
	struct xst_probe *p = xst_setup_probed(test);
	struct xst *x = test->priv;
	struct xst_vm *v = &x->vms[0];

	KUNIT_ASSERT_EQ(test, vm_munmap(x->chunk, XST_CHUNK), 0);

	KUNIT_ASSERT_TRUE_MSG(test, p->called, "the probe was not in the walk");
	KUNIT_EXPECT_FALSE_MSG(test, p->valid,
			       "after xe's first pass the pages still looked valid to a bind");
	KUNIT_EXPECT_TRUE_MSG(test, p->seq_moved,
			      "after xe's first pass the notifier sequence had not moved");
	xst_expect_invalidated(test, v, xst_now(x), "munmap");
	xst_expect_all_waited(test);
	xst_close_all(test);
}

/*
 * A second invalidation of the range while the first is between its two
 * passes (parked by the probe, the notifier lock free): xe's notifier
 * finish is busy, so the second completes in its first pass. With the
 * fences idle the first already zapped and sent the TLB flush: the second
 * finds nothing to zap and must still not unmap and return before that
 * flush completed. With fences pending it waits for them, zaps and
 * flushes itself. Each is judged where it returned.
 */
static void xe_svm_busy_finish(struct kunit *test)
{
	struct xst_probe *p = xst_setup_probed(test);
	struct xst *x = test->priv;
	struct xst_vm *v = &x->vms[0];
	struct xst_thread *a;
	unsigned long parked;

	atomic_set(&p->park, 1);
	a = xst_thread_run(test, x->chunk, x->chunk + XST_CHUNK);
	parked = wait_for_completion_timeout(&x->parked,
					     msecs_to_jiffies(XST_THREAD_TIMEOUT_MS));
	KUNIT_ASSERT_TRUE_MSG(test, parked, "the first invalidation never reached the probe");

	xst_invalidate(x->mm, x->chunk, x->chunk + PAGE_SIZE);
	xst_expect_invalidated(test, v, xst_now(x), "the second");

	complete_all(&x->release);
	KUNIT_ASSERT_TRUE_MSG(test, xst_thread_join(a), "the first did not return");
	xst_expect_invalidated(test, v, a->returned_at, "the first");
	KUNIT_EXPECT_EQ(test, xst_count(x, XST_ZAP), 1);
	xst_expect_all_waited(test);
	xst_close_all(test);
}

static struct kunit_case xe_svm_tests[] = {
	KUNIT_CASE_PARAM(xe_svm_munmap, xst_fence_param_gen_params),
	KUNIT_CASE(xe_svm_partial_munmap),
	KUNIT_CASE(xe_svm_straddling_munmap),
	KUNIT_CASE(xe_svm_madvise_dontneed),
	KUNIT_CASE(xe_svm_other_range_untouched),
	KUNIT_CASE(xe_svm_nonblock_refused),
	KUNIT_CASE(xe_svm_unbound_range),
	KUNIT_CASE(xe_svm_closed_vm),
	KUNIT_CASE(xe_svm_n_vms),
	KUNIT_CASE(xe_svm_concurrent_in_flush),
	KUNIT_CASE(xe_svm_release_walk),
	KUNIT_CASE_PARAM(xe_svm_bind_between_passes, xst_fence_param_gen_params),
	KUNIT_CASE_PARAM(xe_svm_busy_finish, xst_fence_param_gen_params),
	{}
};

static struct kunit_suite xe_svm_test_suite = {
	.name = "xe_svm_notifier",
	.init = xst_init,
	.test_cases = xe_svm_tests,
};

kunit_test_suite(xe_svm_test_suite);
