// SPDX-License-Identifier: GPL-2.0 AND MIT
/*
 * KUnit tests of xe's real two-pass userptr notifier (vma_userptr_notifier_ops),
 * included by the rig's test hooks at the end of the file that defines it,
 * so that its static functions are reachable, as xe's own tests are:
 * xe_userptr.c on 7.3, xe_vm.c on 6.12 with the backport series. The same
 * cases run on both; the few lines that differ are in "bases" below.
 *
 * A minimal xe_vm and xe_userptr_vma on xe's fake device mirror a range of
 * the test's mm; the notifier is registered for real and driven by
 * vm_munmap(), exit_mmap()'s release walk, a non-blocking start, concurrent
 * range invalidations and xe_vma_userptr_force_invalidate(). Everything
 * between the notifier and the hardware is xe's code; the hardware boundary
 * is replaced with KUnit static stubs:
 *
 * - xe_pt_zap_ptes(), past xe's own check of which tiles have PTEs left,
 *   clears the fake PTEs of the VMA ("ptes_live");
 * - the TLB invalidation submit (7.3: xe_tlb_inval_range_tilemask_submit(),
 *   6.12: xe_gt_tlb_invalidation_batch_vma()) sends a fake TLB
 *   invalidation: a real dma_fence signalled by a worker
 *   XUT_TLB_LATENCY_MS later, which records whether the PTEs were already
 *   zapped when it was sent;
 * - the batch wait waits for those fences.
 *
 * The VM's resv holds real fences: preempt-style ones start signalling only
 * when signalling is enabled, bind-style ones are already running. After an
 * invalidation returns, its own fences must be signalled and, in fault mode,
 * a TLB flush sent after the PTEs were zapped must have been waited for
 * before it returned. Every zap, submit and wait is an event in one log, and
 * each invalidation is judged at the point of the log where it returned, so
 * no invalidation passes on a wait that came after it, and a notifier that
 * returns before a flush completed fails whatever the timing (a flush
 * counts when it was waited for, never when its timer fired).
 *
 * On the upstream-rfc base (XUT_INVAL_OVERLAP, defined by that base's test
 * hook), xe's first pass in fault mode with fences pending arms the TLB
 * invalidation on the fences, and a work item of the device's
 * userptr_inval_wq sends it: the test gives the fake device that queue and
 * runs xe's work function with the test's stubs.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <kunit/test-bug.h>
#include <linux/dma-fence.h>
#include <linux/kthread.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/workqueue.h>

#include <drm/drm_gem.h>

#include "tests/xe_kunit_helpers.h"
#include "xe_pt.h"
#include "xe_vm.h"

/* Staged beside this file by the rig's setup, from fake-gpu/. */
#include "rig_compat.h"

/*
 * --- bases --------------------------------------------------------------
 *
 * 7.3 keeps a userptr's pages in drm_gpusvm pages, under the gpusvm
 * notifier lock, in xe_userptr.c (which needs DRM_GPUSVM); 6.12 keeps them
 * in the userptr itself, under vm->userptr.notifier_lock, in xe_vm.c.
 */
#if IS_ENABLED(CONFIG_DRM_GPUSVM)
#define XUT_NOTIFIER_LOCK(vm)		(&(vm)->svm.gpusvm.notifier_lock)
#define XUT_NOTIFIER_SEQ(uvma)		((uvma)->userptr.pages.notifier_seq)
#define xut_batch			xe_tlb_inval_batch
#else
#define XUT_NOTIFIER_LOCK(vm)		(&(vm)->userptr.notifier_lock)
#define XUT_NOTIFIER_SEQ(uvma)		((uvma)->userptr.notifier_seq)
#define xut_batch			xe_gt_tlb_invalidation_batch
#endif

#define XUT_PAGES		4
/* The bench's largest N (xe_userptr_bench.c); the cases use XUT_NR_VMS. */
#define XUT_MAX_VMS		64
#define XUT_NR_VMS		4
#define XUT_MAX_TLB		32
#define XUT_MAX_FENCES		16
#define XUT_MAX_EVENTS		64
#define XUT_FENCE_LATENCY_MS	20
#define XUT_TLB_LATENCY_MS	10
#define XUT_THREAD_TIMEOUT_MS	10000

enum xut_event_kind { XUT_ZAP, XUT_SUBMIT, XUT_WAIT };

/*
 * What a stub saw xe do wrong. The stubs run under the notifier lock, in
 * the mmu_notifier lockdep map, where a KUnit failure (it allocates) may
 * not be raised: they record it, and the test thread reports it.
 */
enum xut_violation {
	XUT_ZAP_TWICE,		/* zapped a tile it had marked invalidated */
	XUT_UNKNOWN_VM,		/* a VM or asid the test did not create */
	XUT_NR_VIOLATIONS
};

static const char * const xut_violation_names[XUT_NR_VIOLATIONS] = {
	[XUT_ZAP_TWICE] = "xe zapped a tile of a VMA it had marked invalidated",
	[XUT_UNKNOWN_VM] = "a VM or asid the test did not create",
};

/* One fake TLB invalidation, sent by the submit stub. */
struct xut_tlb {
	struct dma_fence fence;		/* signalled by @work */
	struct delayed_work work;
	unsigned int vm;		/* index in xut.vms */
	unsigned int sent_at;		/* its event in the log */
	bool waited;			/* the batch wait returned on it, */
	unsigned int waited_at;		/* at this event */
	struct task_struct *submitter;
};

/* A fake GPU VM: xe's structures and what the fake hardware saw. */
struct xut_vm {
	struct xe_vm *vm;
	struct xe_userptr_vma *uvma;
	bool ptes_live;		/* GPU PTEs map the userptr */
};

/* A fence in a VM's resv. */
struct xut_fence {
	struct dma_fence base;	/* first: the default release frees the struct */
	struct delayed_work work;
};

/* The test's state, test->priv. */
struct xut {
	struct kunit *test;
	struct xe_device *xe;
	struct mm_struct *mm;
	unsigned long addr;
	u64 tlb_context;	/* the fence context of the fake TLB */
	spinlock_t fence_lock;	/* the lock of every fence below */
	/* Protects the fields below and the fake hardware state of the VMs. */
	spinlock_t lock;
	struct xut_vm vms[XUT_MAX_VMS];
	unsigned int nr_vms;
	struct xut_tlb tlb[XUT_MAX_TLB];
	unsigned int nr_tlb;
	bool tlb_overflow;
	struct dma_fence *fences[XUT_MAX_FENCES];	/* a reference each */
	unsigned int nr_fences;
	struct { enum xut_event_kind kind; unsigned int vm; } events[XUT_MAX_EVENTS];
	unsigned int nr_events;
	unsigned long violations;	/* BIT(enum xut_violation) */
};

static struct xut *xut_current(void)
{
	return kunit_get_current_test()->priv;
}

/* Log an event and return its index; caller holds x->lock. */
static unsigned int xut_event(struct xut *x, enum xut_event_kind kind, unsigned int vm)
{
	if (x->nr_events < XUT_MAX_EVENTS) {
		x->events[x->nr_events].kind = kind;
		x->events[x->nr_events].vm = vm;
	}
	return x->nr_events++;
}

/* The point of the log an invalidation returned at: events before it. */
static unsigned int xut_now(struct xut *x)
{
	unsigned int now;

	spin_lock(&x->lock);
	now = x->nr_events;
	spin_unlock(&x->lock);
	return now;
}

/* Record what a stub saw; caller holds x->lock. */
static void xut_violate(struct xut *x, enum xut_violation v)
{
	x->violations |= BIT(v);
}

/* Report, from the test thread, what the stubs recorded. */
static void xut_expect_no_violation(struct kunit *test, const char *who)
{
	struct xut *x = test->priv;
	unsigned long violations;
	unsigned int v;

	spin_lock(&x->lock);
	violations = x->violations;
	spin_unlock(&x->lock);
	for_each_set_bit(v, &violations, XUT_NR_VIOLATIONS)
		KUNIT_FAIL(test, "%s: %s", who, xut_violation_names[v]);
}

/* @vm's index in x->vms; caller holds x->lock. */
static unsigned int xut_vm_index(struct xut *x, struct xe_vm *vm)
{
	unsigned int i;

	for (i = 0; i < x->nr_vms; i++)
		if (x->vms[i].vm == vm)
			return i;
	xut_violate(x, XUT_UNKNOWN_VM);
	return 0;
}

/* --- the hardware boundary ---------------------------------------------- */

/*
 * Called by xe_pt_zap_ptes() in place of its page-table walk, once xe's
 * own check found PTEs of @tile left to zap (tile_present and not
 * tile_invalidated): whether anything is zapped is xe's decision.
 */
static bool xut_pt_zap_ptes(struct xe_tile *tile, struct xe_vma *vma)
{
	struct xut *x = xut_current();
	unsigned int i;

	spin_lock(&x->lock);
	i = xut_vm_index(x, xe_vma_vm(vma));
	/* What tile_invalidated says: the walk would find nothing. */
	if (READ_ONCE(vma->tile_invalidated) & BIT(tile->id))
		xut_violate(x, XUT_ZAP_TWICE);
	x->vms[i].ptes_live = false;
	xut_event(x, XUT_ZAP, i);
	spin_unlock(&x->lock);
	return true;
}

static const char *xut_fence_name(struct dma_fence *fence)
{
	return "xe-userptr-test";
}

/* A TLB fence lives in the test's memory, freed with the test. */
static void xut_tlb_fence_release(struct dma_fence *fence)
{
}

static const struct dma_fence_ops xut_tlb_fence_ops = {
	.get_driver_name = xut_fence_name,
	.get_timeline_name = xut_fence_name,
	.release = xut_tlb_fence_release,
};

static void xut_tlb_work(struct work_struct *work)
{
	struct xut_tlb *t = container_of(to_delayed_work(work), struct xut_tlb, work);

	dma_fence_signal(&t->fence);
}

/*
 * Send a fake TLB invalidation for VM @vm and return its index in x->tlb,
 * or -ENOSPC (which xe warns about) if the test made too many.
 */
static int xut_tlb_send(struct xut *x, unsigned int vm)
{
	struct xut_tlb *t;
	unsigned int idx;

	spin_lock(&x->lock);
	if (x->nr_tlb == XUT_MAX_TLB) {
		x->tlb_overflow = true;
		spin_unlock(&x->lock);
		return -ENOSPC;
	}
	idx = x->nr_tlb++;
	t = &x->tlb[idx];
	t->vm = vm;
	t->submitter = current;
	t->sent_at = xut_event(x, XUT_SUBMIT, vm);
	spin_unlock(&x->lock);

	dma_fence_init(&t->fence, &xut_tlb_fence_ops, &x->fence_lock,
		       x->tlb_context, idx + 1);
	INIT_DELAYED_WORK(&t->work, xut_tlb_work);
	queue_delayed_work(system_unbound_wq, &t->work,
			   msecs_to_jiffies(XUT_TLB_LATENCY_MS));
	return idx;
}

#if IS_ENABLED(CONFIG_DRM_GPUSVM)
/* 7.3: one call for all tiles of the tile mask; the VM is found by asid. */
static int xut_tlb_submit(struct xe_device *xe, u32 asid, u64 start, u64 end,
			  u8 tile_mask, struct xe_tlb_inval_batch *batch)
{
	struct xut *x = xut_current();
	int idx;

	batch->num_fences = 0;
	if (!tile_mask)
		return 0;
	if (asid == 0 || asid > x->nr_vms) {
		spin_lock(&x->lock);
		xut_violate(x, XUT_UNKNOWN_VM);
		spin_unlock(&x->lock);
		return -EINVAL;
	}
	idx = xut_tlb_send(x, asid - 1);
	if (idx < 0)
		return idx;
	batch->fence[0].seqno = idx;
	batch->num_fences = 1;
	return 0;
}
#else
/* 6.12 with the backport's 0003: one call per GT, appended to the batch. */
static int xut_tlb_submit(struct xe_gt *gt, struct xe_gt_tlb_invalidation_batch *batch,
			  struct xe_vma *vma)
{
	struct xut *x = xut_current();
	unsigned int vm;
	int idx;

	spin_lock(&x->lock);
	vm = xut_vm_index(x, xe_vma_vm(vma));
	spin_unlock(&x->lock);
	idx = xut_tlb_send(x, vm);
	if (idx < 0)
		return idx;
	batch->fence[batch->num_fences++].seqno = idx;
	return 0;
}
#endif

static void xut_tlb_wait(struct xut_batch *batch)
{
	struct xut *x = xut_current();
	unsigned int i;

	for (i = 0; i < batch->num_fences; i++) {
		struct xut_tlb *t = &x->tlb[batch->fence[i].seqno];

		dma_fence_wait(&t->fence, false);
		spin_lock(&x->lock);
		if (!t->waited) {
			t->waited = true;
			t->waited_at = xut_event(x, XUT_WAIT, t->vm);
		}
		spin_unlock(&x->lock);
	}
	batch->num_fences = 0;
}

/* --- fences in the VM's resv -------------------------------------------- */

static void xut_fence_work(struct work_struct *work)
{
	struct xut_fence *f = container_of(to_delayed_work(work), struct xut_fence, work);

	dma_fence_signal(&f->base);
	dma_fence_put(&f->base);
}

static void xut_fence_start(struct xut_fence *f)
{
	dma_fence_get(&f->base);
	queue_delayed_work(system_unbound_wq, &f->work,
			   msecs_to_jiffies(XUT_FENCE_LATENCY_MS));
}

/* Preempt-style: the GPU is only asked to stop once signalling is enabled. */
static bool xut_preempt_enable_signaling(struct dma_fence *fence)
{
	xut_fence_start(container_of(fence, struct xut_fence, base));
	return true;
}

static const struct dma_fence_ops xut_preempt_fence_ops = {
	.get_driver_name = xut_fence_name,
	.get_timeline_name = xut_fence_name,
	.enable_signaling = xut_preempt_enable_signaling,
};

static const struct dma_fence_ops xut_bind_fence_ops = {
	.get_driver_name = xut_fence_name,
	.get_timeline_name = xut_fence_name,
};

/* A bind the test ends itself: signalled by the test, or at its exit. */
static const struct dma_fence_ops xut_held_fence_ops = {
	.get_driver_name = xut_fence_name,
	.get_timeline_name = xut_fence_name,
};

/* Signal the held fences: before threads blocked on them are reaped. */
static void xut_signal_held(void *arg)
{
	struct xut *x = arg;
	unsigned int i;

	for (i = 0; i < x->nr_fences; i++)
		if (x->fences[i]->ops == &xut_held_fence_ops)
			dma_fence_signal(x->fences[i]);
}

/*
 * Add a pending fence to @v's resv with @usage and @ops: preempt-style, an
 * already running bind or a held one. Returns it; the test holds a
 * reference until its exit.
 */
static struct dma_fence *xut_new_fence(struct kunit *test, struct xut_vm *v,
				       const struct dma_fence_ops *ops,
				       enum dma_resv_usage usage)
{
	struct xut *x = test->priv;
	struct dma_resv *resv = xe_vm_resv(v->vm);
	struct xut_fence *f;

	KUNIT_ASSERT_LT(test, x->nr_fences, XUT_MAX_FENCES);
	f = kzalloc_obj(*f, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	/*
	 * A context of its own: dma_resv_add_fence() replaces a fence of the
	 * same context, and each fence here stands for another queue.
	 */
	dma_fence_init(&f->base, ops, &x->fence_lock, dma_fence_context_alloc(1), 1);
	INIT_DELAYED_WORK(&f->work, xut_fence_work);
	x->fences[x->nr_fences++] = &f->base;

	dma_resv_lock(resv, NULL);
	if (dma_resv_reserve_fences(resv, 1)) {
		dma_resv_unlock(resv);
		KUNIT_FAIL_AND_ABORT(test, "dma_resv_reserve_fences() failed");
	}
	dma_resv_add_fence(resv, dma_fence_get(&f->base), usage);
	dma_resv_unlock(resv);
	dma_fence_put(&f->base);	/* the resv's reference */
	if (ops == &xut_bind_fence_ops)
		xut_fence_start(f);
	return &f->base;
}

/* A preempt-style fence or an already running bind, in @v's resv. */
static struct dma_fence *xut_add_fence(struct kunit *test, struct xut_vm *v,
				       bool preempt, enum dma_resv_usage usage)
{
	return xut_new_fence(test, v, preempt ? &xut_preempt_fence_ops :
			     &xut_bind_fence_ops, usage);
}

/* --- VMs and userptrs --------------------------------------------------- */

static void xut_put_resv_obj(void *obj)
{
	drm_gem_object_put(obj);
}

#if IS_ENABLED(CONFIG_DRM_GPUSVM)
static int xut_userptr_insert(struct xe_userptr_vma *uvma, unsigned long addr,
			      unsigned long len)
{
	return xe_userptr_setup(uvma, addr, len);
}

static void xut_userptr_teardown(void *arg)
{
	struct xe_userptr_vma *uvma = arg;

	xe_userptr_remove(uvma);
	xe_userptr_destroy(uvma);
}

/* Userptr-only gpusvm, as xe_svm_init() sets up for non-SVM VMs. */
static int xut_notifier_lock_init(struct xe_vm *vm)
{
	return drm_gpusvm_init(&vm->svm.gpusvm, "xe-userptr-test", NULL, 0, 0,
			       0, NULL, NULL, 0);
}
#else
/* What xe_vma_create() and xe_vma_destroy_late() do for a userptr. */
static int xut_userptr_insert(struct xe_userptr_vma *uvma, unsigned long addr,
			      unsigned long len)
{
	struct xe_userptr *userptr = &uvma->userptr;

	INIT_LIST_HEAD(&userptr->invalidate_link);
	INIT_LIST_HEAD(&userptr->repin_link);
	mutex_init(&userptr->unmap_mutex);
	userptr->notifier_seq = LONG_MAX;
	return mmu_interval_notifier_insert(&userptr->notifier, current->mm,
					    addr, len, &vma_userptr_notifier_ops);
}

static void xut_userptr_teardown(void *arg)
{
	struct xe_userptr_vma *uvma = arg;
	struct xe_vm *vm = xe_vma_vm(&uvma->vma);

	mmu_interval_notifier_remove(&uvma->userptr.notifier);
	spin_lock(&vm->userptr.invalidated_lock);
	list_del(&uvma->userptr.invalidate_link);
	spin_unlock(&vm->userptr.invalidated_lock);
	mutex_destroy(&uvma->userptr.unmap_mutex);
}

static int xut_notifier_lock_init(struct xe_vm *vm)
{
	init_rwsem(&vm->userptr.notifier_lock);
	return 0;
}
#endif

/* An xe_vm and the test it belongs to, for xe's work items. */
struct xut_xe_vm {
	struct xe_vm vm;
	struct kunit *test;
};

static struct xut_vm *xut_vm_create(struct kunit *test, bool fault_mode)
{
	struct xut *x = test->priv;
	struct xut_xe_vm *xvm;
	struct xut_vm *v;
	struct xe_vm *vm;

	KUNIT_ASSERT_LT(test, x->nr_vms, XUT_MAX_VMS);
	xvm = kunit_kzalloc(test, sizeof(*xvm), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, xvm);
	xvm->test = test;
	vm = &xvm->vm;
	vm->xe = x->xe;
	vm->flags = fault_mode ? XE_VM_FLAG_LR_MODE | XE_VM_FLAG_FAULT_MODE : 0;
	vm->usm.asid = x->nr_vms + 1;	/* the submit stub finds the VM by it */
	init_rwsem(&vm->lock);
	INIT_LIST_HEAD(&vm->rebind_list);
	INIT_LIST_HEAD(&vm->userptr.repin_list);
	INIT_LIST_HEAD(&vm->userptr.invalidated);
	spin_lock_init(&vm->userptr.invalidated_lock);
	KUNIT_ASSERT_EQ(test, xut_notifier_lock_init(vm), 0);
	vm->gpuvm.r_obj = drm_gpuvm_resv_object_alloc(&x->xe->drm);
	KUNIT_ASSERT_NOT_NULL(test, vm->gpuvm.r_obj);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xut_put_resv_obj,
							vm->gpuvm.r_obj), 0);

	v = &x->vms[x->nr_vms];
	v->vm = vm;
	x->nr_vms++;
	return v;
}

#ifdef XUT_INVAL_OVERLAP
static const bool xut_inval_overlap = true;

/*
 * xe's submission work item, on the test's userptr_inval_wq, with the
 * test's stubs (looked up through current->kunit_test, as in its threads).
 */
static void xut_inval_work(struct work_struct *work)
{
	struct xe_userptr_vma *uvma = container_of(work, typeof(*uvma),
						   userptr.inval_work);
	struct xe_vm *vm = xe_vma_vm(&uvma->vma);

	current->kunit_test = container_of(vm, struct xut_xe_vm, vm)->test;
	xe_vma_userptr_inval_work(work);
	current->kunit_test = NULL;
}

static void xut_destroy_wq(void *wq)
{
	destroy_workqueue(wq);
}

/* The queue xe_device_create() would have allocated, for the fake device. */
static void xut_inval_wq_init(struct kunit *test, struct xut *x)
{
	x->xe->userptr_inval_wq = alloc_workqueue("xut-userptr-inval",
						  WQ_UNBOUND | WQ_MEM_RECLAIM, 0);
	KUNIT_ASSERT_NOT_NULL(test, x->xe->userptr_inval_wq);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xut_destroy_wq,
							x->xe->userptr_inval_wq), 0);
}

/* Whatever xe's work items were given has run. */
static void xut_inval_flush(struct xut *x)
{
	flush_workqueue(x->xe->userptr_inval_wq);
}
#else
static const bool xut_inval_overlap;

static void xut_inval_wq_init(struct kunit *test, struct xut *x)
{
}

static void xut_inval_flush(struct xut *x)
{
}
#endif

/*
 * A userptr VMA of @v over [@addr, @addr + @len) of current->mm, with xe's
 * notifier registered as xe registers it. Removed by a test action.
 */
static void xut_userptr_create(struct kunit *test, struct xut_vm *v,
			       unsigned long addr, unsigned long len)
{
	struct xe_userptr_vma *uvma;
	struct xe_vma *vma;

	uvma = kunit_kzalloc(test, sizeof(*uvma), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, uvma);
	vma = &uvma->vma;
	vma->gpuva.vm = &v->vm->gpuvm;
	vma->gpuva.va.addr = addr;
	vma->gpuva.va.range = len;
	vma->gpuva.gem.offset = addr;	/* the CPU address: xe_vma_userptr() */
	vma->tile_mask = BIT(0);
	INIT_LIST_HEAD(&vma->combined_links.rebind);
	KUNIT_ASSERT_EQ(test, xut_userptr_insert(uvma, addr, len), 0);
#ifdef XUT_INVAL_OVERLAP
	INIT_WORK(&uvma->userptr.inval_work, xut_inval_work);
#endif
	v->uvma = uvma;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xut_userptr_teardown,
							uvma), 0);
}

/*
 * What a successful bind leaves: pages pinned at the notifier's current
 * sequence, GPU PTEs live on tile 0, the userptr off the invalidated list.
 */
static void xut_bind(struct xut *x, struct xut_vm *v)
{
	struct xe_userptr_vma *uvma = v->uvma;
	struct xe_vm *vm = v->vm;

	XUT_NOTIFIER_SEQ(uvma) = mmu_interval_read_begin(&uvma->userptr.notifier);
	down_write(XUT_NOTIFIER_LOCK(vm));
	spin_lock(&vm->userptr.invalidated_lock);
	list_del_init(&uvma->userptr.invalidate_link);
	spin_unlock(&vm->userptr.invalidated_lock);
	uvma->userptr.initial_bind = true;
	uvma->vma.tile_present = BIT(0);
	WRITE_ONCE(uvma->vma.tile_invalidated, 0);
	spin_lock(&x->lock);
	v->ptes_live = true;
	spin_unlock(&x->lock);
	up_write(XUT_NOTIFIER_LOCK(vm));
}

/* --- fixture ------------------------------------------------------------ */

static void xut_map(struct kunit *test)
{
	struct xut *x = test->priv;

	x->addr = kunit_vm_mmap(test, NULL, 0, XUT_PAGES * PAGE_SIZE,
				PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, x->addr, 0, "kunit_vm_mmap() failed");
	x->mm = current->mm;
}

/* @n VMs, each with one userptr over the test's mapping, bound. */
static void xut_setup(struct kunit *test, unsigned int n, bool fault_mode)
{
	struct xut *x = test->priv;
	unsigned int i;

	xut_map(test);
	for (i = 0; i < n; i++) {
		struct xut_vm *v = xut_vm_create(test, fault_mode);

		xut_userptr_create(test, v, x->addr, XUT_PAGES * PAGE_SIZE);
		xut_bind(x, v);
	}
}

/*
 * A test action registered first, so it runs last: after the threads are
 * reaped, every fence and fake TLB invalidation completes, so no worker
 * outlives the memory it signals.
 */
static void xut_flush(void *arg)
{
	struct xut *x = arg;
	unsigned int i;

	xut_signal_held(x);
	for (i = 0; i < x->nr_fences; i++) {
		struct xut_fence *f = container_of(x->fences[i], struct xut_fence, base);

		/* Enables signalling of a preempt fence nothing waited for. */
		dma_fence_wait(&f->base, false);
		/*
		 * The wait can return once the fence is marked signalled, with
		 * its worker still holding x->fence_lock: let it finish before
		 * that memory goes.
		 */
		flush_delayed_work(&f->work);
		dma_fence_put(&f->base);
	}
	for (i = 0; i < x->nr_tlb; i++) {
		dma_fence_wait(&x->tlb[i].fence, false);
		cancel_delayed_work_sync(&x->tlb[i].work);
	}
}

static int xut_init(struct kunit *test)
{
	struct xut *x;

	x = kunit_kzalloc(test, sizeof(*x), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, x);
	xe_kunit_helper_xe_device_test_init(test);
	x->xe = test->priv;
	x->test = test;
	x->tlb_context = dma_fence_context_alloc(1);
	spin_lock_init(&x->fence_lock);
	spin_lock_init(&x->lock);
	test->priv = x;
	xut_inval_wq_init(test, x);

	kunit_activate_static_stub(test, xe_pt_zap_ptes, xut_pt_zap_ptes);
#if IS_ENABLED(CONFIG_DRM_GPUSVM)
	kunit_activate_static_stub(test, xe_tlb_inval_range_tilemask_submit,
				   xut_tlb_submit);
	kunit_activate_static_stub(test, xe_tlb_inval_batch_wait, xut_tlb_wait);
#else
	kunit_activate_static_stub(test, xe_gt_tlb_invalidation_batch_vma,
				   xut_tlb_submit);
	kunit_activate_static_stub(test, xe_gt_tlb_invalidation_batch_wait,
				   xut_tlb_wait);
#endif
	return kunit_add_action_or_reset(test, xut_flush, x);
}

/* --- parking an invalidation between its passes ------------------------ */

/*
 * A single-pass notifier placed after xe's in the interval tree walk: the
 * first invalidation it sees parks there, between xe's first pass and its
 * finish, until the test releases it.
 */
struct xut_park {
	struct mmu_interval_notifier notifier;
	atomic_t armed;
	struct completion parked;
	struct completion release;
};

static bool xut_park_invalidate(struct mmu_interval_notifier *mni,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq)
{
	struct xut_park *p = container_of(mni, struct xut_park, notifier);

	mmu_interval_set_seq(mni, cur_seq);
	if (atomic_xchg(&p->armed, 0)) {
		complete(&p->parked);
		wait_for_completion(&p->release);
	}
	return true;
}

static const struct mmu_interval_notifier_ops xut_park_ops = {
	.invalidate = xut_park_invalidate,
};

static void xut_park_release(struct xut_park *p)
{
	complete_all(&p->release);
}

static void xut_park_remove(void *arg)
{
	struct xut_park *p = arg;

	xut_park_release(p);
	mmu_interval_notifier_remove(&p->notifier);
}

/* Park notifier over the last page of the mapping (after xe's in the walk). */
static struct xut_park *xut_park_insert(struct kunit *test)
{
	struct xut *x = test->priv;
	unsigned long last = x->addr + (XUT_PAGES - 1) * PAGE_SIZE;
	struct xut_park *p;
	int err;

	p = kunit_kzalloc(test, sizeof(*p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p);
	atomic_set(&p->armed, 1);
	init_completion(&p->parked);
	init_completion(&p->release);
	err = mmu_interval_notifier_insert(&p->notifier, x->mm, last, PAGE_SIZE,
					   &xut_park_ops);
	KUNIT_ASSERT_EQ(test, err, 0);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xut_park_remove, p), 0);
	return p;
}

/* --- threads ------------------------------------------------------------ */

/*
 * A kernel thread running one invalidation, allocated with kunit_kzalloc()
 * and reaped by a test action before that memory is freed, also when the
 * test aborts: the action releases @park first, where the thread may wait.
 */
struct xut_thread {
	struct kunit *test;
	struct mm_struct *mm;
	unsigned long start, end;
	struct xut_park *park;
	unsigned int returned_at;	/* xut_now() when it returned */
	struct completion done;
};

/* Invalidate [start, end) of @mm through the core, as migration or a zap does. */
static void xut_invalidate(struct mm_struct *mm, unsigned long start,
			   unsigned long end)
{
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, mm, start, end);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
}

static int xut_thread_fn(void *arg)
{
	struct xut_thread *t = arg;

	/* The stubs are looked up through current->kunit_test. */
	current->kunit_test = t->test;
	xut_invalidate(t->mm, t->start, t->end);
	t->returned_at = xut_now(t->test->priv);
	current->kunit_test = NULL;
	complete_all(&t->done);	/* joined, then reaped: two waits */
	return 0;
}

static void xut_thread_reap(void *arg)
{
	struct xut_thread *t = arg;

	if (t->park)
		xut_park_release(t->park);
	wait_for_completion(&t->done);
}

static struct xut_thread *xut_thread_run(struct kunit *test, unsigned long start,
					 unsigned long end, struct xut_park *park)
{
	struct xut *x = test->priv;
	struct xut_thread *t;
	struct task_struct *task;

	t = kunit_kzalloc(test, sizeof(*t), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	t->test = test;
	t->mm = x->mm;
	t->start = start;
	t->end = end;
	t->park = park;
	init_completion(&t->done);
	task = kthread_run(xut_thread_fn, t, "xe-userptr-test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xut_thread_reap, t), 0);
	return t;
}

static bool xut_thread_join(struct xut_thread *t)
{
	return wait_for_completion_timeout(&t->done,
					   msecs_to_jiffies(XUT_THREAD_TIMEOUT_MS));
}

/* --- what an invalidation must leave ----------------------------------- */

static bool xut_fence_signaled(struct dma_fence *fence)
{
	return test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &fence->flags);
}

/*
 * Whether a TLB flush of VM @vm sent after its last zap before event
 * @returned_at was waited for before that event. Judged per invalidation,
 * at the point of the log where it returned: a zap or a wait that came
 * later belongs to another one.
 */
static bool xut_flushed_before(struct kunit *test, unsigned int vm,
			       unsigned int returned_at)
{
	struct xut *x = test->priv;
	bool zapped = false, flushed = false;
	unsigned int i, zapped_at = 0;

	/* The log must reach back to @returned_at to judge it. */
	KUNIT_ASSERT_LE(test, returned_at, XUT_MAX_EVENTS);
	spin_lock(&x->lock);
	for (i = 0; i < returned_at; i++) {
		if (x->events[i].kind == XUT_ZAP && x->events[i].vm == vm) {
			zapped = true;
			zapped_at = i;
		}
	}
	for (i = 0; zapped && i < x->nr_tlb; i++) {
		struct xut_tlb *t = &x->tlb[i];

		if (t->vm == vm && t->sent_at > zapped_at && t->waited &&
		    t->waited_at < returned_at)
			flushed = true;
	}
	spin_unlock(&x->lock);
	return flushed;
}

/*
 * After an invalidation of @v's userptr returned, at event @returned_at
 * (xut_now()): the GPU can no longer reach the old pages. Every fence in
 * @fences (those it had to wait for) is signalled; the userptr needs a
 * repin; in non-fault mode exec and the rebind worker were told; in fault
 * mode the PTEs are zapped and a TLB flush sent after the zap was waited
 * for before it returned.
 */
static void xut_expect_invalidated(struct kunit *test, struct xut_vm *v,
				   unsigned int returned_at, struct dma_fence **fences,
				   unsigned int n, const char *who)
{
	struct xut *x = test->priv;
	struct xe_userptr *userptr = &v->uvma->userptr;
	bool ptes_live;
	unsigned int i;

	xut_expect_no_violation(test, who);
	for (i = 0; i < n; i++)
		KUNIT_EXPECT_TRUE_MSG(test, xut_fence_signaled(fences[i]),
				      "%s returned before fence %u of the VM's resv signalled",
				      who, i);
	KUNIT_EXPECT_TRUE_MSG(test, mmu_interval_check_retry(&userptr->notifier,
							     XUT_NOTIFIER_SEQ(v->uvma)),
			      "%s: the pages still look valid", who);
	if (!xe_vm_in_fault_mode(v->vm)) {
		KUNIT_EXPECT_FALSE_MSG(test, list_empty(&userptr->invalidate_link),
				       "%s: the userptr is not on the invalidated list", who);
		return;
	}
	/* Snapshot: a failed expectation allocates, not under a spinlock. */
	spin_lock(&x->lock);
	ptes_live = v->ptes_live;
	spin_unlock(&x->lock);
	KUNIT_EXPECT_FALSE_MSG(test, ptes_live, "%s: GPU PTEs still live", who);
	KUNIT_EXPECT_TRUE_MSG(test, xut_flushed_before(test, v - x->vms, returned_at),
			      "%s returned before a TLB flush sent after the zap completed",
			      who);
}

/* No invalidation in flight: the two-pass state and the batch are clean. */
static void xut_expect_idle(struct kunit *test, struct xut_vm *v)
{
	struct xut *x = test->priv;
	struct xe_userptr *userptr = &v->uvma->userptr;
	unsigned int i, unwaited = 0;

	/* A late submission would leave the state busy again. */
	xut_inval_flush(x);
	xut_expect_no_violation(test, "idle");
#ifdef XUT_INVAL_OVERLAP
	KUNIT_EXPECT_FALSE(test, userptr->inval_overlap);
#endif
	KUNIT_EXPECT_FALSE(test, userptr->finish_inuse);
	KUNIT_EXPECT_FALSE(test, userptr->tlb_inval_submitted);
	KUNIT_EXPECT_EQ(test, userptr->inval_batch.num_fences, 0);
	KUNIT_EXPECT_FALSE(test, x->tlb_overflow);
	spin_lock(&x->lock);
	for (i = 0; i < x->nr_tlb; i++)
		unwaited += !x->tlb[i].waited;
	spin_unlock(&x->lock);
	KUNIT_EXPECT_EQ_MSG(test, unwaited, 0,
			    "TLB invalidations sent but never waited for");
}

static unsigned int xut_count(struct xut *x, enum xut_event_kind kind)
{
	unsigned int i, n = 0;

	for (i = 0; i < min(x->nr_events, XUT_MAX_EVENTS); i++)
		n += x->events[i].kind == kind;
	return n;
}

/* --- the oracle on logs of its own ------------------------------------- */

/* Log a zap of VM @vm, as the zap stub does. */
static void xut_log_zap(struct xut *x, unsigned int vm)
{
	spin_lock(&x->lock);
	xut_event(x, XUT_ZAP, vm);
	spin_unlock(&x->lock);
}

/* Wait for fake TLB invalidation @idx through the batch wait stub. */
static void xut_log_wait(struct xut *x, int idx)
{
	struct xut_batch *batch = kunit_kzalloc(x->test, sizeof(*batch), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(x->test, batch);
	batch->fence[0].seqno = idx;
	batch->num_fences = 1;
	xut_tlb_wait(batch);
}

/*
 * Every other case trusts xut_flushed_before(); here it judges logs written
 * through the stubs' own recording, one rule each: a flush counts for an
 * invalidation only if it was sent after that VM's last zap and waited for
 * before the invalidation returned. A flag that says "clean" after any wait
 * (what the suite used before) judges the second and third logs clean.
 */
static void xe_userptr_evidence_oracle(struct kunit *test)
{
	struct xut *x = test->priv;
	unsigned int returned_at;
	int t;

	/* Zap, flush sent and waited for, return: flushed. */
	xut_log_zap(x, 0);
	t = xut_tlb_send(x, 0);
	KUNIT_ASSERT_GE(test, t, 0);
	xut_log_wait(x, t);
	KUNIT_EXPECT_TRUE(test, xut_flushed_before(test, 0, xut_now(x)));

	/* A flush sent before the zap and waited for after it: not flushed. */
	t = xut_tlb_send(x, 0);
	KUNIT_ASSERT_GE(test, t, 0);
	xut_log_zap(x, 0);
	xut_log_wait(x, t);
	KUNIT_EXPECT_FALSE_MSG(test, xut_flushed_before(test, 0, xut_now(x)),
			       "a flush sent before the zap was taken as covering it");

	/* Zap, flush sent, return, then waited for: not flushed at the return. */
	xut_log_zap(x, 0);
	t = xut_tlb_send(x, 0);
	KUNIT_ASSERT_GE(test, t, 0);
	returned_at = xut_now(x);
	xut_log_wait(x, t);
	KUNIT_EXPECT_FALSE_MSG(test, xut_flushed_before(test, 0, returned_at),
			       "a wait after the return was taken as evidence for it");
	KUNIT_EXPECT_TRUE(test, xut_flushed_before(test, 0, xut_now(x)));

	/* Another VM's flush: not flushed. */
	xut_log_zap(x, 1);
	t = xut_tlb_send(x, 0);
	KUNIT_ASSERT_GE(test, t, 0);
	xut_log_wait(x, t);
	KUNIT_EXPECT_FALSE_MSG(test, xut_flushed_before(test, 1, xut_now(x)),
			       "another VM's flush was taken as evidence");

	/* Nothing zapped: nothing flushed either. */
	KUNIT_EXPECT_FALSE(test, xut_flushed_before(test, 2, xut_now(x)));
}

/* --- cases -------------------------------------------------------------- */

struct xut_mode {
	bool fault;
	const char *name;
};

static const struct xut_mode xut_modes[] = {
	{ .fault = false, .name = "non-fault" },
	{ .fault = true, .name = "fault" },
};

static void xut_mode_desc(const struct xut_mode *m, char *desc)
{
	strscpy(desc, m->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(xut_mode, xut_modes, xut_mode_desc);

static bool xut_param_fault(struct kunit *test)
{
	return ((const struct xut_mode *)test->param_value)->fault;
}

/*
 * Fences pending: the first pass only enables signalling and defers; the
 * finish waits for them and, in fault mode, zaps and flushes the TLB.
 */
static void xe_userptr_munmap_fences_pending(struct kunit *test)
{
	struct xut *x = test->priv;
	struct dma_fence *f[2];
	struct xut_vm *v;

	xut_setup(test, 1, xut_param_fault(test));
	v = &x->vms[0];
	f[0] = xut_add_fence(test, v, true, DMA_RESV_USAGE_BOOKKEEP);
	f[1] = xut_add_fence(test, v, false, DMA_RESV_USAGE_BOOKKEEP);

	KUNIT_ASSERT_EQ(test, vm_munmap(x->addr, XUT_PAGES * PAGE_SIZE), 0);

	xut_expect_invalidated(test, v, xut_now(x), f, ARRAY_SIZE(f), "munmap");
	xut_expect_idle(test, v);
}

/*
 * Fences idle, fault mode: the first pass zaps and sends the TLB flush, the
 * finish only waits for it. Non-fault mode: no TLB flush, nothing deferred.
 */
static void xe_userptr_munmap_fences_idle(struct kunit *test)
{
	unsigned int expected_tlb = xut_param_fault(test) ? 1 : 0;
	struct xut *x = test->priv;
	struct xut_vm *v;

	xut_setup(test, 1, xut_param_fault(test));
	v = &x->vms[0];

	KUNIT_ASSERT_EQ(test, vm_munmap(x->addr, XUT_PAGES * PAGE_SIZE), 0);

	xut_expect_invalidated(test, v, xut_now(x), NULL, 0, "munmap");
	xut_expect_idle(test, v);
	KUNIT_EXPECT_EQ(test, x->nr_tlb, expected_tlb);
}

/* exit_mmap()'s release walk: the same two passes, in the test's own mm. */
static void xe_userptr_release_walk(struct kunit *test)
{
	struct xut *x = test->priv;
	struct dma_fence *f;
	struct xut_vm *v;
	unsigned long addr;

	x->mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, x->mm);
	x->mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(x->mm, &current->signal->rlim[RLIMIT_STACK]);
	v = xut_vm_create(test, xut_param_fault(test));
	kthread_use_mm(x->mm);
	addr = vm_mmap(NULL, 0, XUT_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (!IS_ERR_VALUE(addr))
		xut_userptr_create(test, v, addr, XUT_PAGES * PAGE_SIZE);
	kthread_unuse_mm(x->mm);
	if (IS_ERR_VALUE(addr)) {
		mmput(x->mm);
		KUNIT_FAIL_AND_ABORT(test, "vm_mmap() failed: %ld", (long)addr);
	}
	xut_bind(x, v);
	f = xut_add_fence(test, v, true, DMA_RESV_USAGE_BOOKKEEP);

	mmput(x->mm);	/* exit_mmap(): the release walk */

	xut_expect_invalidated(test, v, xut_now(x), &f, 1, "exit_mmap");
	xut_expect_idle(test, v);
}

/* A non-blockable start is refused before anything changes. */
static void xe_userptr_nonblock_refused(struct kunit *test)
{
	struct xut *x = test->priv;
	struct mmu_notifier_range range;
	struct xe_userptr *userptr;
	struct dma_fence *f;
	struct xut_vm *v;

	xut_setup(test, 1, xut_param_fault(test));
	v = &x->vms[0];
	userptr = &v->uvma->userptr;
	f = xut_add_fence(test, v, true, DMA_RESV_USAGE_BOOKKEEP);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, x->mm, x->addr,
				x->addr + XUT_PAGES * PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, mmu_notifier_invalidate_range_start_nonblock(&range),
			-EAGAIN);

	KUNIT_EXPECT_FALSE(test, mmu_interval_check_retry(&userptr->notifier,
							  XUT_NOTIFIER_SEQ(v->uvma)));
	KUNIT_EXPECT_TRUE(test, list_empty(&userptr->invalidate_link));
	KUNIT_EXPECT_FALSE(test, test_bit(DMA_FENCE_FLAG_ENABLE_SIGNAL_BIT, &f->flags));
	KUNIT_EXPECT_TRUE(test, v->ptes_live);
	KUNIT_EXPECT_EQ(test, x->nr_events, 0);
	xut_expect_idle(test, v);
}

/* The flow each invalidation of a concurrent pair takes. */
enum xut_flow {
	XUT_FENCES_PENDING,	/* a new preempt fence in the resv */
	XUT_FENCES_IDLE,	/* nothing to wait for */
};

struct xut_pair {
	bool fault;
	enum xut_flow first, second;
	const char *name;
};

static const struct xut_pair xut_pairs[] = {
	{ false, XUT_FENCES_PENDING, XUT_FENCES_PENDING, "non-fault,pending+pending" },
	{ false, XUT_FENCES_PENDING, XUT_FENCES_IDLE, "non-fault,pending+idle" },
	{ true, XUT_FENCES_PENDING, XUT_FENCES_PENDING, "fault,pending+pending" },
	{ true, XUT_FENCES_PENDING, XUT_FENCES_IDLE, "fault,pending+idle" },
	{ true, XUT_FENCES_IDLE, XUT_FENCES_PENDING, "fault,tlb-deferred+pending" },
	{ true, XUT_FENCES_IDLE, XUT_FENCES_IDLE, "fault,tlb-deferred+idle" },
};

static void xut_pair_desc(const struct xut_pair *p, char *desc)
{
	strscpy(desc, p->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(xut_pair, xut_pairs, xut_pair_desc);

/*
 * Two invalidations of one userptr: the first is parked between xe's first
 * pass and its finish (its finish pending: finish_inuse set, and in the
 * "tlb-deferred" flow its TLB flush in flight), the second enters and must
 * complete on its own: its own fences waited for, its own TLB clean. Then
 * the first finishes, and must have done the same.
 */
static void xe_userptr_concurrent(struct kunit *test)
{
	const struct xut_pair *pair = test->param_value;
	struct xut *x = test->priv;
	struct dma_fence *first = NULL, *second = NULL;
	struct xut_thread *a, *b;
	struct xut_park *park;
	unsigned long parked;
	struct xut_vm *v;
	bool hold;

	xut_setup(test, 1, pair->fault);
	v = &x->vms[0];
	park = xut_park_insert(test);
	/*
	 * With the RFC, a fault-mode first pass with fences pending arms its
	 * TLB invalidation on them, and a work item sends it once they have
	 * signalled: the test holds that fence and signals it itself, so what
	 * is in flight at the park does not depend on timing.
	 */
	hold = xut_inval_overlap && pair->fault && pair->first == XUT_FENCES_PENDING;
	if (hold)
		first = xut_new_fence(test, v, &xut_held_fence_ops, DMA_RESV_USAGE_BOOKKEEP);
	else if (pair->first == XUT_FENCES_PENDING)
		first = xut_add_fence(test, v, true, DMA_RESV_USAGE_BOOKKEEP);

	a = xut_thread_run(test, x->addr, x->addr + XUT_PAGES * PAGE_SIZE, park);
	/* Runs before the thread is reaped: a failed test does not hang. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xut_signal_held, x), 0);
	parked = wait_for_completion_timeout(&park->parked,
					     msecs_to_jiffies(XUT_THREAD_TIMEOUT_MS));
	KUNIT_ASSERT_TRUE_MSG(test, parked, "the first invalidation never reached the park");
	/* The first's finish is pending. */
	KUNIT_EXPECT_TRUE(test, v->uvma->userptr.finish_inuse);
	KUNIT_EXPECT_EQ(test, v->uvma->userptr.tlb_inval_submitted,
			pair->fault && pair->first == XUT_FENCES_IDLE);
	if (hold) {
		dma_fence_signal(first);
		xut_inval_flush(x);
		KUNIT_EXPECT_TRUE_MSG(test, v->uvma->userptr.tlb_inval_submitted,
				      "the first's flush was not sent once its fence signalled");
	}

	if (pair->second == XUT_FENCES_PENDING)
		second = xut_add_fence(test, v, true, DMA_RESV_USAGE_BOOKKEEP);
	b = xut_thread_run(test, x->addr, x->addr + PAGE_SIZE, NULL);
	KUNIT_ASSERT_TRUE_MSG(test, xut_thread_join(b),
			      "the second invalidation did not return");
	xut_expect_invalidated(test, v, b->returned_at, second ? &second : NULL, !!second,
			       "the second");
	if (first)
		KUNIT_EXPECT_TRUE_MSG(test, xut_fence_signaled(first),
				      "the second returned before the first's fence signalled");

	xut_park_release(park);
	KUNIT_ASSERT_TRUE_MSG(test, xut_thread_join(a), "the first did not return");
	xut_expect_invalidated(test, v, a->returned_at, first ? &first : NULL, !!first,
			       "the first");
	xut_expect_idle(test, v);
}

/*
 * N VMs (N GPUs) mirroring one range, fault mode, fences idle: every first
 * pass sends its TLB flush before any finish waits, so the flushes overlap.
 */
static void xe_userptr_n_vms_pipelined(struct kunit *test)
{
	struct xut *x = test->priv;
	unsigned int i, n = XUT_NR_VMS, first_wait, returned_at;

	xut_setup(test, n, true);

	KUNIT_ASSERT_EQ(test, vm_munmap(x->addr, XUT_PAGES * PAGE_SIZE), 0);
	returned_at = xut_now(x);

	for (i = 0; i < n; i++) {
		xut_expect_invalidated(test, &x->vms[i], returned_at, NULL, 0, "munmap");
		xut_expect_idle(test, &x->vms[i]);
	}
	KUNIT_ASSERT_LE(test, x->nr_events, XUT_MAX_EVENTS);
	KUNIT_EXPECT_EQ(test, xut_count(x, XUT_SUBMIT), n);
	KUNIT_EXPECT_EQ(test, xut_count(x, XUT_WAIT), n);
	for (first_wait = 0; first_wait < x->nr_events; first_wait++)
		if (x->events[first_wait].kind == XUT_WAIT)
			break;
	for (i = first_wait; i < x->nr_events; i++)
		KUNIT_EXPECT_NE_MSG(test, x->events[i].kind, XUT_SUBMIT,
				    "VM %u sent its TLB flush after a wait for another one",
				    x->events[i].vm);
}

#ifdef XUT_INVAL_OVERLAP
/*
 * The RFC: N VMs, fault mode, fences pending. Each first pass arms its
 * VM's TLB invalidation on the VM's fences, and it is sent once the last
 * of them has signalled, before any finish runs. The test holds the fences
 * and parks the invalidation after every first pass: VM 0's first fence
 * signals (nothing may be sent, its second is pending), then all the others
 * (every VM's flush is sent, none waited for), then the finishes run and
 * only wait.
 */
static void xe_userptr_overlap_before_finishes(struct kunit *test)
{
	struct xut *x = test->priv;
	unsigned int i, n = XUT_NR_VMS, sent, waits;
	struct dma_fence *f[XUT_NR_VMS + 1];
	struct xut_park *park;
	struct xut_thread *t;
	unsigned long parked;

	xut_setup(test, n, true);
	for (i = 0; i < n; i++)
		f[i] = xut_new_fence(test, &x->vms[i], &xut_held_fence_ops,
				     DMA_RESV_USAGE_BOOKKEEP);
	f[n] = xut_new_fence(test, &x->vms[0], &xut_held_fence_ops,
			     DMA_RESV_USAGE_BOOKKEEP);
	park = xut_park_insert(test);
	t = xut_thread_run(test, x->addr, x->addr + XUT_PAGES * PAGE_SIZE, park);
	/* Runs before the thread is reaped: a failed test does not hang. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xut_signal_held, x), 0);
	parked = wait_for_completion_timeout(&park->parked,
					     msecs_to_jiffies(XUT_THREAD_TIMEOUT_MS));
	KUNIT_ASSERT_TRUE_MSG(test, parked, "the invalidation never got past the first passes");

	dma_fence_signal(f[0]);
	xut_inval_flush(x);
	spin_lock(&x->lock);
	sent = x->nr_tlb;
	spin_unlock(&x->lock);
	KUNIT_EXPECT_EQ_MSG(test, sent, 0,
			    "a TLB flush was sent while a fence of its VM was pending");

	for (i = 1; i <= n; i++)
		dma_fence_signal(f[i]);
	xut_inval_flush(x);
	spin_lock(&x->lock);
	sent = x->nr_tlb;
	waits = xut_count(x, XUT_WAIT);
	spin_unlock(&x->lock);
	KUNIT_EXPECT_EQ_MSG(test, sent, n,
			    "TLB flushes sent once the fences signalled, before any finish");
	KUNIT_EXPECT_EQ(test, waits, 0);

	xut_park_release(park);
	KUNIT_ASSERT_TRUE_MSG(test, xut_thread_join(t), "the invalidation did not return");
	xut_expect_invalidated(test, &x->vms[0], t->returned_at,
			       (struct dma_fence *[]){ f[0], f[n] }, 2, "the invalidation");
	for (i = 1; i < n; i++)
		xut_expect_invalidated(test, &x->vms[i], t->returned_at, &f[i], 1,
				       "the invalidation");
	for (i = 0; i < n; i++)
		xut_expect_idle(test, &x->vms[i]);
	KUNIT_EXPECT_EQ_MSG(test, x->nr_tlb, n, "the finishes sent TLB flushes again");
}
#endif

/*
 * xe_vma_userptr_force_invalidate() with the locks its caller holds: the
 * VM's lock, its resv and the notifier lock, on 7.3 in write mode
 * (xe_pt_svm_userptr_notifier_lock() with DRM_XE_USERPTR_INVAL_INJECT), on
 * 6.12 in read mode (xe_pt_userptr_pre_commit()).
 */
static void xut_force_invalidate(struct xut_vm *v)
{
#if IS_ENABLED(CONFIG_DRM_XE_USERPTR_INVAL_INJECT)
	struct xe_vm *vm = v->vm;

	down_write(&vm->lock);
	xe_vm_lock(vm, false);
#if IS_ENABLED(CONFIG_DRM_GPUSVM)
	down_write(XUT_NOTIFIER_LOCK(vm));
	xe_vma_userptr_force_invalidate(v->uvma);
	up_write(XUT_NOTIFIER_LOCK(vm));
#else
	down_read(XUT_NOTIFIER_LOCK(vm));
	xe_vma_userptr_force_invalidate(v->uvma);
	up_read(XUT_NOTIFIER_LOCK(vm));
#endif
	xe_vm_unlock(vm);
	up_write(&vm->lock);
#endif
}

/*
 * A forced invalidation (DRM_XE_USERPTR_INVAL_INJECT), fences idle or
 * pending, then a real one after a rebind: both must complete, and the
 * forced one must leave nothing behind that the real one would trust.
 */
static void xe_userptr_force_then_munmap(struct kunit *test)
{
	struct xut *x = test->priv;
	struct dma_fence *f[2];
	struct xut_vm *v;
	unsigned int tlb, expected_tlb = xut_param_fault(test) ? 1 : 0;

	if (!IS_ENABLED(CONFIG_DRM_XE_USERPTR_INVAL_INJECT))
		kunit_skip(test, "needs CONFIG_DRM_XE_USERPTR_INVAL_INJECT");
	xut_setup(test, 1, xut_param_fault(test));
	v = &x->vms[0];

	f[0] = xut_add_fence(test, v, true, DMA_RESV_USAGE_BOOKKEEP);
	xut_force_invalidate(v);
	xut_expect_invalidated(test, v, xut_now(x), f, 1, "force-invalidate (fences pending)");
	xut_expect_idle(test, v);

	xut_bind(x, v);
	xut_force_invalidate(v);
	xut_expect_invalidated(test, v, xut_now(x), NULL, 0, "force-invalidate (fences idle)");
	xut_expect_idle(test, v);

	xut_bind(x, v);
	tlb = x->nr_tlb;
	f[1] = xut_add_fence(test, v, true, DMA_RESV_USAGE_BOOKKEEP);
	KUNIT_ASSERT_EQ(test, vm_munmap(x->addr, XUT_PAGES * PAGE_SIZE), 0);
	xut_expect_invalidated(test, v, xut_now(x), &f[1], 1, "munmap after force-invalidate");
	xut_expect_idle(test, v);
	KUNIT_EXPECT_EQ_MSG(test, x->nr_tlb - tlb, expected_tlb,
			    "TLB invalidations sent by the munmap");
}

static struct kunit_case xe_userptr_tests[] = {
	KUNIT_CASE(xe_userptr_evidence_oracle),
	KUNIT_CASE_PARAM(xe_userptr_munmap_fences_pending, xut_mode_gen_params),
	KUNIT_CASE_PARAM(xe_userptr_munmap_fences_idle, xut_mode_gen_params),
	KUNIT_CASE_PARAM(xe_userptr_release_walk, xut_mode_gen_params),
	KUNIT_CASE_PARAM(xe_userptr_nonblock_refused, xut_mode_gen_params),
	KUNIT_CASE_PARAM(xe_userptr_concurrent, xut_pair_gen_params),
	KUNIT_CASE(xe_userptr_n_vms_pipelined),
#ifdef XUT_INVAL_OVERLAP
	KUNIT_CASE(xe_userptr_overlap_before_finishes),
#endif
	KUNIT_CASE_PARAM(xe_userptr_force_then_munmap, xut_mode_gen_params),
	{}
};

static struct kunit_suite xe_userptr_test_suite = {
	.name = "xe_userptr_two_pass",
	.init = xut_init,
	.test_cases = xe_userptr_tests,
};

kunit_test_suite(xe_userptr_test_suite);

#if IS_ENABLED(CONFIG_XE_USERPTR_BENCH_KUNIT_TEST)
/* The scaling benchmark: this file's fixture, with stubs of its own. */
#include "xe_userptr_bench.c"
#endif
