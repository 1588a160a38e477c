// SPDX-License-Identifier: GPL-2.0 AND MIT
/*
 * Scaling benchmark of xe's real userptr notifier (vma_userptr_notifier_ops
 * of xe_userptr.c, the code in 7.3.4) with N VMs: munmap() of a range that
 * N xe VMs of xe's fake device mirror with a userptr each, every VM with
 * its own interval notifier, as N GPUs would have. Included at the end of
 * xe_userptr_test.c, whose fixture it uses (the fake device, xut_vm_create(),
 * xut_userptr_create(), xut_bind()); only the hardware boundary differs:
 *
 * - the TLB invalidation submit starts an hrtimer of L per VM, and the
 *   batch wait waits for it (no event log: nothing here is judged);
 * - the PTE zap only says that there were PTEs to zap;
 * - the VM's resv holds real dma_fences completed by hrtimers: a
 *   preempt-style fence signals J after signalling is enabled on it, a
 *   bind-style one J after it was added, just before the munmap.
 *
 * Modes, on the same kernel:
 *
 * - two-pass: xe's notifier as it ships;
 * - single-pass: xe's own synchronous path, its fallback when the
 *   userptr's finish is in use (the bench marks it so before the munmap):
 *   the first pass waits for the fences and, in fault mode, submits the
 *   TLB invalidation and waits for it, VM after VM. This is what every
 *   invalidation cost before the series.
 *
 * Scenarios, as xe has them (ideal two-pass; single-pass):
 *
 * - xe-tlb: fault mode, fences idle: the first pass submits, the finish
 *   waits. L; N x L.
 * - xe-preempt: non-fault mode, a preempt fence each: the first pass
 *   enables signalling, the finish waits. J; N x J.
 * - xe-bind: fault mode with a bind running on each VM: the finish waits
 *   for it, then invalidates the TLB: J + N x L as shipped (the finishes
 *   run one after another), J + L with RFC 0002 (upstream-rfc), which sends
 *   each VM's TLB invalidation when its fences signal.
 *
 * One BENCH line per point (bench_report.h), parsed by "scripts/rig bench";
 * the floor (N hrtimers of L) is fake_gpu_bench's, in the same boot.
 * Asserts no times. Each point is a case of its own (a parameter), so the
 * KUnit resources its static stubs are looked up among are that point's.
 */

#include <linux/hrtimer.h>
#include <linux/ktime.h>

#include "bench_report.h"

#define XUB_REPS	20
#define XUB_JOB_US	1000

/* One VM's TLB: an invalidation in flight completes @done after L. */
struct xub_tlb {
	struct hrtimer timer;
	struct completion done;
};

/* A fence in a VM's resv, completed by @timer. */
struct xub_fence {
	struct dma_fence base;	/* first: the default release frees the struct */
	struct hrtimer timer;
};

enum xub_scenario { XUB_TLB, XUB_PREEMPT, XUB_BIND };

static const char * const xub_scenario_names[] = {
	[XUB_TLB] = "xe-tlb", [XUB_PREEMPT] = "xe-preempt", [XUB_BIND] = "xe-bind",
};

/* One point, a parameter of the case. */
struct xub_param {
	enum xub_scenario scenario;
	bool two_pass;
	unsigned int n;
	u32 latency_us;
};

/* The running point's state. */
struct xub {
	const struct xub_param *p;
	struct xut *x;
	struct xub_tlb *tlb;		/* per VM, by asid - 1 */
	u64 *fence_context;		/* per VM: a rep's fence replaces the last */
	struct xub_fence **fences;	/* this rep's, a reference each */
	spinlock_t fence_lock;		/* the lock of every fence */
	/* This rep's TLB invalidations: how many, and how many before a wait. */
	atomic_t submitted;
	atomic_t waited;
	atomic_t submitted_before_wait;
};

/*
 * The stubs get no test state but the device, and the point's state is
 * not the fixture's test->priv: KUnit runs one case at a time, and only
 * the running case sets this.
 */
static struct xub *xub_running;

/* --- the hardware boundary ---------------------------------------------- */

static bool xub_pt_zap_ptes(struct xe_tile *tile, struct xe_vma *vma)
{
	return true;
}

static enum hrtimer_restart xub_tlb_fire(struct hrtimer *timer)
{
	complete_all(&container_of(timer, struct xub_tlb, timer)->done);
	return HRTIMER_NORESTART;
}

static int xub_tlb_submit(struct xe_device *xe, u32 asid, u64 start, u64 end,
			  u8 tile_mask, struct xe_tlb_inval_batch *batch)
{
	struct xub *b = xub_running;
	struct xub_tlb *t;

	batch->num_fences = 0;
	if (!tile_mask)
		return 0;
	if (asid == 0 || asid > b->p->n)
		return -EINVAL;
	t = &b->tlb[asid - 1];
	/* One invalidation per VM and munmap: the last one was waited for. */
	if (WARN_ON_ONCE(hrtimer_active(&t->timer)))
		return -EBUSY;
	reinit_completion(&t->done);
	hrtimer_start(&t->timer, us_to_ktime(b->p->latency_us), HRTIMER_MODE_REL);
	atomic_inc(&b->submitted);
	batch->fence[0].seqno = asid - 1;
	batch->num_fences = 1;
	return 0;
}

static void xub_tlb_wait(struct xe_tlb_inval_batch *batch)
{
	struct xub *b = xub_running;
	unsigned int i;

	for (i = 0; i < batch->num_fences; i++) {
		struct xub_tlb *t = &b->tlb[batch->fence[i].seqno];

		if (atomic_inc_return(&b->waited) == 1)
			atomic_set(&b->submitted_before_wait, atomic_read(&b->submitted));
		wait_for_completion(&t->done);
		/* The callback has returned: the VM's next submit may start it. */
		hrtimer_cancel(&t->timer);
	}
	batch->num_fences = 0;
}

/* --- fences -------------------------------------------------------------- */

static enum hrtimer_restart xub_fence_fire(struct hrtimer *timer)
{
	dma_fence_signal(&container_of(timer, struct xub_fence, timer)->base);
	return HRTIMER_NORESTART;
}

/* Preempt-style: the GPU is asked to stop once signalling is enabled. */
static bool xub_preempt_enable_signaling(struct dma_fence *fence)
{
	struct xub_fence *f = container_of(fence, struct xub_fence, base);

	hrtimer_start(&f->timer, us_to_ktime(XUB_JOB_US), HRTIMER_MODE_REL);
	return true;
}

static const struct dma_fence_ops xub_preempt_fence_ops = {
	.get_driver_name = xut_fence_name,
	.get_timeline_name = xut_fence_name,
	.enable_signaling = xub_preempt_enable_signaling,
};

static const struct dma_fence_ops xub_bind_fence_ops = {
	.get_driver_name = xut_fence_name,
	.get_timeline_name = xut_fence_name,
};

/*
 * This rep's fence of VM @i, in its resv; the bench keeps a reference. A
 * bind's timer is started by xub_start_binds(), all at once.
 */
static void xub_add_fence(struct kunit *test, struct xub *b, unsigned int i, u64 seqno)
{
	struct dma_resv *resv = xe_vm_resv(b->x->vms[i].vm);
	bool preempt = b->p->scenario == XUB_PREEMPT;
	struct xub_fence *f;
	int err;

	f = kzalloc_obj(*f, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, f);
	dma_fence_init(&f->base, preempt ? &xub_preempt_fence_ops : &xub_bind_fence_ops,
		       &b->fence_lock, b->fence_context[i], seqno);
	hrtimer_setup(&f->timer, xub_fence_fire, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	b->fences[i] = f;

	dma_resv_lock(resv, NULL);
	err = dma_resv_reserve_fences(resv, 1);
	if (!err)
		/* The last rep's fence, signalled, makes room for it. */
		dma_resv_add_fence(resv, dma_fence_get(&f->base), DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(resv);
	if (err)
		/* Nothing waits for it, and the cleanup's wait returns. */
		dma_fence_signal(&f->base);
	KUNIT_ASSERT_EQ_MSG(test, err, 0, "dma_resv_reserve_fences()");
}

/* The binds run from now: every VM's ends J from the same instant. */
static void xub_start_binds(struct xub *b)
{
	ktime_t end = ktime_add_us(ktime_get(), XUB_JOB_US);
	unsigned int i;

	for (i = 0; i < b->p->n; i++)
		hrtimer_start(&b->fences[i]->timer, end, HRTIMER_MODE_ABS);
}

/* After the munmap: every fence has signalled; drop the bench's references. */
static void xub_put_fences(struct xub *b)
{
	unsigned int i;

	for (i = 0; i < b->p->n; i++) {
		struct xub_fence *f = b->fences[i];

		if (!f)
			continue;
		dma_fence_wait(&f->base, false);
		/* The callback may still be returning from the signal. */
		hrtimer_cancel(&f->timer);
		dma_fence_put(&f->base);
		b->fences[i] = NULL;
	}
}

/* --- the points ----------------------------------------------------------- */

/* Every VM's finish marked in use, or free: xe's synchronous path, or not. */
static void xub_finish_inuse(struct xub *b, bool inuse)
{
	unsigned int i;

	for (i = 0; i < b->p->n; i++) {
		struct xut_vm *v = &b->x->vms[i];

		down_write(XUT_NOTIFIER_LOCK(v->vm));
		v->uvma->userptr.finish_inuse = inuse;
		up_write(XUT_NOTIFIER_LOCK(v->vm));
	}
}

/*
 * The mode is the one the point says: in fault mode one TLB invalidation
 * per VM, and with the fences idle, every one sent before the first wait
 * (two-pass) or each waited for before the next is sent (xe's synchronous
 * path). A notifier that fell back silently would time the wrong thing.
 */
static void xub_expect_flow(struct kunit *test, struct xub *b)
{
	const struct xub_param *p = b->p;
	unsigned int sent = atomic_read(&b->submitted);

	if (p->scenario == XUB_PREEMPT) {
		KUNIT_EXPECT_EQ(test, sent, 0);
		return;
	}
	KUNIT_EXPECT_EQ(test, sent, p->n);
	KUNIT_EXPECT_EQ(test, atomic_read(&b->waited), p->n);
	if (p->scenario == XUB_TLB)
		KUNIT_EXPECT_EQ(test, atomic_read(&b->submitted_before_wait),
				p->two_pass ? p->n : 1);
}

/* Map the range again, bind it on every VM, add the fences; time the munmap. */
static u64 xub_time_munmap(struct kunit *test, struct xub *b, unsigned int rep)
{
	const unsigned long len = XUT_PAGES * PAGE_SIZE;
	struct xut *x = b->x;
	unsigned long addr;
	unsigned int i;
	ktime_t t0;
	u64 ns;

	/* The userptrs' notifiers stay: a mapping at the same address. */
	addr = vm_mmap(NULL, x->addr, len, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED, 0);
	KUNIT_ASSERT_EQ_MSG(test, addr, x->addr, "vm_mmap(MAP_FIXED): %ld", (long)addr);
	for (i = 0; i < b->p->n; i++)
		xut_bind(x, &x->vms[i]);
	if (b->p->scenario != XUB_TLB)
		for (i = 0; i < b->p->n; i++)
			xub_add_fence(test, b, i, rep + 1);
	if (b->p->scenario == XUB_BIND)
		xub_start_binds(b);
	atomic_set(&b->submitted, 0);
	atomic_set(&b->waited, 0);
	atomic_set(&b->submitted_before_wait, 0);

	t0 = ktime_get();
	KUNIT_ASSERT_EQ(test, vm_munmap(x->addr, len), 0);
	ns = ktime_to_ns(ktime_sub(ktime_get(), t0));

	xub_put_fences(b);
	/* RFC 0002's submission work items, if any, are done. */
	xut_inval_flush(x);
	xub_expect_flow(test, b);
	return ns;
}

/* Runs before the fixture's cleanup: no timer or reference outlives it. */
static void xub_cleanup(void *arg)
{
	struct xub *b = arg;
	unsigned int i;

	xub_put_fences(b);
	for (i = 0; i < b->p->n; i++)
		hrtimer_cancel(&b->tlb[i].timer);
	xub_finish_inuse(b, false);
	xub_running = NULL;
}

/*
 * The stubs, deactivated and activated anew after the point's VMs exist.
 * KUnit looks a stub up among the test's resources from the newest; an
 * activation over an active stub only changes its target and leaves it
 * where xut_init() put it, behind every resource of the N VMs. Created
 * anew, these are found first, whatever N.
 */
static void xub_activate_stubs(struct kunit *test)
{
	kunit_deactivate_static_stub(test, xe_pt_zap_ptes);
	kunit_deactivate_static_stub(test, xe_tlb_inval_range_tilemask_submit);
	kunit_deactivate_static_stub(test, xe_tlb_inval_batch_wait);
	kunit_activate_static_stub(test, xe_pt_zap_ptes, xub_pt_zap_ptes);
	kunit_activate_static_stub(test, xe_tlb_inval_range_tilemask_submit,
				   xub_tlb_submit);
	kunit_activate_static_stub(test, xe_tlb_inval_batch_wait, xub_tlb_wait);
}

static void xe_userptr_bench_munmap(struct kunit *test)
{
	const struct xub_param *p = test->param_value;
	struct xut *x = test->priv;
	struct xub *b;
	unsigned int i;
	u64 *ns;

	b = kunit_kzalloc(test, sizeof(*b), GFP_KERNEL);
	ns = kunit_kcalloc(test, XUB_REPS, sizeof(*ns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b);
	KUNIT_ASSERT_NOT_NULL(test, ns);
	b->p = p;
	b->x = x;
	b->tlb = kunit_kcalloc(test, p->n, sizeof(*b->tlb), GFP_KERNEL);
	b->fence_context = kunit_kcalloc(test, p->n, sizeof(*b->fence_context), GFP_KERNEL);
	b->fences = kunit_kcalloc(test, p->n, sizeof(*b->fences), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, b->tlb);
	KUNIT_ASSERT_NOT_NULL(test, b->fence_context);
	KUNIT_ASSERT_NOT_NULL(test, b->fences);
	spin_lock_init(&b->fence_lock);
	for (i = 0; i < p->n; i++) {
		hrtimer_setup(&b->tlb[i].timer, xub_tlb_fire, CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL);
		init_completion(&b->tlb[i].done);
		b->fence_context[i] = dma_fence_context_alloc(1);
	}

	xut_setup(test, p->n, p->scenario != XUB_PREEMPT);
	xub_running = b;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, xub_cleanup, b), 0);
	xub_activate_stubs(test);
	/* Each rep maps the range anew (untimed) and unmaps it (timed). */
	KUNIT_ASSERT_EQ(test, vm_munmap(x->addr, XUT_PAGES * PAGE_SIZE), 0);
	if (!p->two_pass)
		xub_finish_inuse(b, true);

	for (i = 0; i < XUB_REPS; i++)
		ns[i] = xub_time_munmap(test, b, i);

	bench_report(test, xub_scenario_names[p->scenario],
		     p->two_pass ? "two-pass" : "single-pass", p->n,
		     p->scenario == XUB_PREEMPT ? 0 : p->latency_us,
		     p->scenario == XUB_TLB ? 0 : XUB_JOB_US, ns, XUB_REPS);
}

/* --- the parameters ------------------------------------------------------ */

static const unsigned int xub_ns[] = { 1, 2, 4, 8, 16, 32, 64 };
/* Per scenario, the latencies it is measured at (0: none). */
static const u32 xub_latencies[][2] = {
	[XUB_TLB] = { 100, 1000 },
	[XUB_PREEMPT] = { 0 },
	[XUB_BIND] = { 1000 },
};

#define XUB_NR_POINTS	(3 * 2 * 2 * ARRAY_SIZE(xub_ns))

static struct xub_param xub_points[XUB_NR_POINTS];

/* Scenario x latency x mode x N: fill xub_points, return how many. */
static unsigned int xub_points_fill(void)
{
	const unsigned int nr_ns = ARRAY_SIZE(xub_ns);
	unsigned int nr = 0, s, l, k;

	for (s = 0; s < ARRAY_SIZE(xub_latencies); s++)
		for (l = 0; l < 2 && (!l || xub_latencies[s][l]); l++)
			for (k = 0; k < 2 * nr_ns; k++)
				xub_points[nr++] = (struct xub_param){
					.scenario = s, .two_pass = k / nr_ns,
					.n = xub_ns[k % nr_ns],
					.latency_us = xub_latencies[s][l],
				};
	return nr;
}

static const void *xub_gen_params(struct kunit *test, const void *prev, char *desc)
{
	static unsigned int nr;
	const struct xub_param *p = prev;

	if (!p) {
		nr = xub_points_fill();
		p = xub_points;
	} else if (++p == xub_points + nr) {
		return NULL;
	}
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s %s N=%u L=%u us",
		 xub_scenario_names[p->scenario], p->two_pass ? "two-pass" : "single-pass",
		 p->n, p->latency_us);
	return p;
}

static struct kunit_case xe_userptr_bench_cases[] = {
	KUNIT_CASE_PARAM_ATTR(xe_userptr_bench_munmap, xub_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	{}
};

static struct kunit_suite xe_userptr_bench_suite = {
	.name = "xe_userptr_bench",
	.init = xut_init,
	.test_cases = xe_userptr_bench_cases,
};

kunit_test_suite(xe_userptr_bench_suite);
