// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scaling benchmark of single-pass vs two-pass invalidation on fake GPUs.
 *
 * Each measurement is the time from vm_munmap() start to return, repeated;
 * results are KTAP diagnostic lines of the form
 *
 *   # <test>: BENCH scenario=<s> mode=<m> n=<N> latency_us=<L> job_us=<J>
 *     reps=<R> min_ns=<a> median_ns=<b> max_ns=<c>
 *
 * (one line), parsed by "scripts/rig bench". Nothing here asserts a time:
 * the tests fail only on errors, and the runner on splats.
 *
 * Scenarios:
 *  tlb     - N fake GPUs in fault mode mirror one range, no jobs pending:
 *            the two-pass start submits the TLB invalidation, the finish
 *            waits. Ideal: L.
 *  preempt - VMs not in fault mode, each with a long-running job behind a
 *            preempt fence that signals J us after the notifier enables
 *            signalling on it; no TLB invalidation in the notifier (xe's
 *            non-fault VMs). Ideal: J.
 *  bind    - fault-mode VMs, each with a job of J us running (a pending
 *            bind): xe's "fences pending" flow, whose finish waits for the
 *            job and then invalidates the TLB. Ideal: J + L.
 *  bind-overlap - bind with FAKE_GPU_VM_TLB_OVERLAP (two-pass only).
 *  floor - no device: N hrtimers of L, started one after another, until
 *          the last has fired; the limit of the tlb scenario in this boot.
 *  jobs  - no munmap: the bind scenario's N jobs of J, from the same
 *          point as the munmap would start until the last has ended; the
 *          limit of the bind scenarios, with one L after it.
 *  noise - one tlb point measured twice, back to back.
 *
 * The core's own cost for notifiers without a device (scenario "core") is
 * measured by mmu_notifier_core_bench.c, which builds without the series.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/slab.h>

#include "bench_report.h"
#include "fake_gpu_test_common.h"
#include "rig_compat.h"

#define FGB_PAGES	64
#define FGB_MAX_DEVS	64

static unsigned int reps = 20;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "repetitions per benchmark point");

/*
 * Submit a job of @job_us on each of the @n VMs (none if 0) into @fences
 * (NULL: not kept); the clock of the point starts before the last: a job
 * runs from its submission on the GPU's clock, so the last one ends no
 * earlier than J after the start, and an ideal of J (+ L) holds.
 */
static ktime_t fgb_submit_jobs(struct kunit *test, struct fake_gpu_vm **vm,
			       unsigned int n, u32 job_us, struct dma_fence **fences)
{
	unsigned int i;
	ktime_t t0 = 0;

	for (i = 0; job_us && i < n; i++) {
		if (i == n - 1)
			t0 = ktime_get();
		KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(vm[i], job_us,
							     fences ? &fences[i] : NULL), 0);
	}
	return job_us ? t0 : ktime_get();
}

/* Map the range, bind every userptr, submit jobs; then time the munmap. */
static u64 fgb_time_munmap(struct kunit *test, unsigned long addr,
			   struct fake_gpu_userptr **uptr,
			   struct fake_gpu_vm **vm, unsigned int n, u32 job_us)
{
	unsigned int i;
	ktime_t t0;

	fgt_map(test, addr, FGB_PAGES, 0);
	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(uptr[i]), 0);
	t0 = fgb_submit_jobs(test, vm, n, job_us, NULL);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, FGB_PAGES << PAGE_SHIFT), 0);
	return ktime_to_ns(ktime_sub(ktime_get(), t0));
}

/* The devices, VMs and userptrs of a point, and its samples. */
struct fgb_setup {
	unsigned long addr;
	struct fake_gpu_dev **devs;
	struct fake_gpu_vm **vm;
	struct fake_gpu_userptr **uptr;
	u64 *ns;
};

/* N devices of latency L, a VM of @mode and @vm_flags and a userptr each. */
static void fgb_setup(struct kunit *test, struct fgb_setup *s, unsigned int n,
		      u32 latency_us, enum fake_gpu_mode mode, unsigned int vm_flags)
{
	unsigned int i;

	s->addr = fgt_map(test, 0, FGB_PAGES, 0);
	s->devs = fgt_devs(test, n, latency_us, 0);
	s->uptr = kunit_kcalloc(test, n, sizeof(*s->uptr), GFP_KERNEL);
	s->vm = kunit_kcalloc(test, n, sizeof(*s->vm), GFP_KERNEL);
	s->ns = kunit_kcalloc(test, reps, sizeof(*s->ns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s->uptr);
	KUNIT_ASSERT_NOT_NULL(test, s->vm);
	KUNIT_ASSERT_NOT_NULL(test, s->ns);
	for (i = 0; i < n; i++) {
		s->vm[i] = fgt_vm(test, s->devs[i], mode, vm_flags);
		s->uptr[i] = fgt_userptr(test, s->vm[i], s->addr, FGB_PAGES);
	}
}

/* Tear a point down now, not at the end of the test. */
static void fgb_teardown(struct kunit *test, struct fgb_setup *s, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		fgt_release_vm(test, s->vm[i]);
	fgt_release_devs(test, s->devs);
}

/* One point: N devices, latency L, mode, VM flags, job J, reps repetitions. */
static void fgb_point(struct kunit *test, const char *scenario,
		      enum fake_gpu_mode mode, unsigned int n, u32 latency_us,
		      u32 job_us, unsigned int vm_flags)
{
	struct fgb_setup s;
	unsigned int r;

	fgb_setup(test, &s, n, latency_us, mode, vm_flags);
	KUNIT_ASSERT_EQ(test, vm_munmap(s.addr, FGB_PAGES << PAGE_SHIFT), 0);

	for (r = 0; r < reps; r++)
		s.ns[r] = fgb_time_munmap(test, s.addr, s.uptr, s.vm, n, job_us);

	bench_report(test, scenario, mode == FAKE_GPU_TWO_PASS ? "two-pass" :
		   "single-pass", n, latency_us, job_us, s.ns, reps);
	fgb_teardown(test, &s, n);
}

/*
 * The jobs floor: N fault-mode VMs bound as for a bind point, a job of J
 * each; the time from where fgb_time_munmap() starts its clock until every
 * job has ended: what the emulated jobs cost by themselves.
 */
static void fgb_jobs_point(struct kunit *test, unsigned int n, u32 job_us)
{
	struct dma_fence **fences = kunit_kcalloc(test, n, sizeof(*fences), GFP_KERNEL);
	struct fgb_setup s;
	unsigned int i, r;
	ktime_t t0;

	KUNIT_ASSERT_NOT_NULL(test, fences);
	fgb_setup(test, &s, n, 1000, FAKE_GPU_TWO_PASS, FAKE_GPU_VM_FAULT_MODE);
	for (i = 0; i < n; i++)
		KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(s.uptr[i]), 0);
	for (r = 0; r < reps; r++) {
		t0 = fgb_submit_jobs(test, s.vm, n, job_us, fences);
		for (i = 0; i < n; i++)
			dma_fence_wait(fences[i], false);
		s.ns[r] = ktime_to_ns(ktime_sub(ktime_get(), t0));
		for (i = 0; i < n; i++)
			dma_fence_put(fences[i]);
	}
	bench_report(test, "jobs", "jobs", n, 0, job_us, s.ns, reps);
	fgb_teardown(test, &s, n);
}

static const unsigned int fgb_ns[] = { 1, 2, 4, 8, 16, 32, 64 };
static const u32 fgb_latencies[] = { 100, 1000 };

static void fgb_test_tlb_bound(struct kunit *test)
{
	unsigned int l, i, m;

	for (l = 0; l < ARRAY_SIZE(fgb_latencies); l++)
		for (m = 0; m < 2; m++)
			for (i = 0; i < ARRAY_SIZE(fgb_ns); i++)
				fgb_point(test, "tlb", m ? FAKE_GPU_TWO_PASS :
					  FAKE_GPU_SINGLE_PASS, fgb_ns[i],
					  fgb_latencies[l], 0, FAKE_GPU_VM_FAULT_MODE);
}

/* N, L = J = 1 ms, both modes, VMs with @vm_flags and a job each. */
static void fgb_job_scenario(struct kunit *test, const char *scenario,
			     unsigned int vm_flags)
{
	unsigned int i, m;

	for (m = 0; m < 2; m++)
		for (i = 0; i < ARRAY_SIZE(fgb_ns); i++)
			fgb_point(test, scenario, m ? FAKE_GPU_TWO_PASS :
				  FAKE_GPU_SINGLE_PASS, fgb_ns[i], 1000, 1000,
				  vm_flags);
}

static void fgb_test_preempt_bound(struct kunit *test)
{
	fgb_job_scenario(test, "preempt", FAKE_GPU_VM_PREEMPT_JOBS);
}

static void fgb_test_bind_bound(struct kunit *test)
{
	fgb_job_scenario(test, "bind", FAKE_GPU_VM_FAULT_MODE);
}

/*
 * Bind-bound with the overlapped flow (two-pass only): each device submits
 * its TLB invalidation when its own job ends. Single-pass is "bind"'s.
 */
static void fgb_test_bind_overlap(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fgb_ns); i++)
		fgb_point(test, "bind-overlap", FAKE_GPU_TWO_PASS, fgb_ns[i],
			  1000, 1000, FAKE_GPU_VM_FAULT_MODE |
			  FAKE_GPU_VM_TLB_OVERLAP);
}

/*
 * The floor: what N devices of latency L cost with nothing but their
 * timers. N hrtimers of L started one after another, as the first passes
 * start the devices; the time until the last has fired.
 */
struct fgb_floor_timer {
	struct hrtimer timer;
	atomic_t *left;
	struct completion *done;
};

static enum hrtimer_restart fgb_floor_fire(struct hrtimer *timer)
{
	struct fgb_floor_timer *t = container_of(timer, struct fgb_floor_timer, timer);

	if (atomic_dec_and_test(t->left))
		complete(t->done);
	return HRTIMER_NORESTART;
}

static void fgb_floor_point(struct kunit *test, unsigned int n, u32 latency_us)
{
	DECLARE_COMPLETION_ONSTACK(done);
	struct fgb_floor_timer *t;
	unsigned int i, r;
	atomic_t left;
	ktime_t t0;
	u64 *ns;

	t = kunit_kcalloc(test, n, sizeof(*t), GFP_KERNEL);
	ns = kunit_kcalloc(test, reps, sizeof(*ns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	KUNIT_ASSERT_NOT_NULL(test, ns);
	for (i = 0; i < n; i++) {
		hrtimer_setup(&t[i].timer, fgb_floor_fire, CLOCK_MONOTONIC,
			      HRTIMER_MODE_REL);
		t[i].left = &left;
		t[i].done = &done;
	}
	for (r = 0; r < reps; r++) {
		reinit_completion(&done);
		atomic_set(&left, n);
		t0 = ktime_get();
		for (i = 0; i < n; i++)
			hrtimer_start(&t[i].timer, us_to_ktime(latency_us),
				      HRTIMER_MODE_REL);
		wait_for_completion(&done);
		ns[r] = ktime_to_ns(ktime_sub(ktime_get(), t0));
	}
	/* The last callback may still be returning from complete(). */
	for (i = 0; i < n; i++)
		hrtimer_cancel(&t[i].timer);
	bench_report(test, "floor", "hrtimers", n, latency_us, 0, ns, reps);
}

static void fgb_test_floor(struct kunit *test)
{
	unsigned int l, i;

	for (l = 0; l < ARRAY_SIZE(fgb_latencies); l++)
		for (i = 0; i < ARRAY_SIZE(fgb_ns); i++)
			fgb_floor_point(test, fgb_ns[i], fgb_latencies[l]);
}

static void fgb_test_jobs_floor(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(fgb_ns); i++)
		fgb_jobs_point(test, fgb_ns[i], 1000);
}

static void fgb_test_noise(struct kunit *test)
{
	fgb_point(test, "noise", FAKE_GPU_TWO_PASS, 8, 1000, 0, FAKE_GPU_VM_FAULT_MODE);
	fgb_point(test, "noise", FAKE_GPU_TWO_PASS, 8, 1000, 0, FAKE_GPU_VM_FAULT_MODE);
}

static struct kunit_case fgb_cases[] = {
	KUNIT_CASE_SLOW(fgb_test_floor),
	KUNIT_CASE_SLOW(fgb_test_tlb_bound),
	KUNIT_CASE_SLOW(fgb_test_preempt_bound),
	KUNIT_CASE_SLOW(fgb_test_bind_bound),
	KUNIT_CASE_SLOW(fgb_test_bind_overlap),
	KUNIT_CASE_SLOW(fgb_test_jobs_floor),
	KUNIT_CASE_SLOW(fgb_test_noise),
	{}
};

static struct kunit_suite fgb_suite = {
	.name = "fake_gpu_bench",
	.test_cases = fgb_cases,
};

kunit_test_suite(fgb_suite);
