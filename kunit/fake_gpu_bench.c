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
 *  tlb  - N fake GPUs in fault mode mirror one range, no jobs pending: the
 *         two-pass start submits the TLB invalidation, the finish waits.
 *  job  - the same with a preempt-style GPU job on every VM: its fence
 *         signals J us after the notifier enables signalling on it.
 *  core - N plain notifiers on the range, single-pass vs two-pass whose
 *         start always returns a NULL finish, no device latency: the cost
 *         of the patched core for notifiers that do not defer.
 *  noise - one tlb point measured twice, back to back.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>

#include "fake_gpu_test_common.h"
#include "two_pass_thread.h"

#define FGB_PAGES	64
#define FGB_MAX_DEVS	64

static unsigned int reps = 20;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "repetitions per benchmark point");

static int fgb_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static void fgb_report(struct kunit *test, const char *scenario,
		       const char *mode, unsigned int n, u32 latency_us,
		       u32 job_us, u64 *ns, unsigned int count)
{
	sort(ns, count, sizeof(*ns), fgb_cmp_u64, NULL);
	kunit_info(test, "BENCH scenario=%s mode=%s n=%u latency_us=%u job_us=%u reps=%u min_ns=%llu median_ns=%llu max_ns=%llu\n",
		   scenario, mode, n, latency_us, job_us, count, ns[0],
		   ns[count / 2], ns[count - 1]);
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
	for (i = 0; job_us && i < n; i++)
		KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(vm[i], job_us, NULL), 0);

	t0 = ktime_get();
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, FGB_PAGES << PAGE_SHIFT), 0);
	return ktime_to_ns(ktime_sub(ktime_get(), t0));
}

/* One point: N devices, latency L, mode, job J, reps repetitions. */
static void fgb_point(struct kunit *test, const char *scenario,
		      enum fake_gpu_mode mode, unsigned int n, u32 latency_us,
		      u32 job_us, unsigned int flags)
{
	unsigned long addr = fgt_map(test, 0, FGB_PAGES, 0);
	struct fake_gpu_dev **devs = fgt_devs(test, n, latency_us, 0);
	struct fake_gpu_userptr **uptr;
	struct fake_gpu_vm **vm;
	unsigned int i, r;
	u64 *ns;

	uptr = kunit_kcalloc(test, n, sizeof(*uptr), GFP_KERNEL);
	vm = kunit_kcalloc(test, n, sizeof(*vm), GFP_KERNEL);
	ns = kunit_kcalloc(test, reps, sizeof(*ns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, uptr);
	KUNIT_ASSERT_NOT_NULL(test, vm);
	KUNIT_ASSERT_NOT_NULL(test, ns);
	for (i = 0; i < n; i++) {
		vm[i] = fgt_vm(test, devs[i], mode, FAKE_GPU_VM_FAULT_MODE | flags);
		uptr[i] = fgt_userptr(test, vm[i], addr, FGB_PAGES);
	}
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, FGB_PAGES << PAGE_SHIFT), 0);

	for (r = 0; r < reps; r++)
		ns[r] = fgb_time_munmap(test, addr, uptr, vm, n, job_us);

	fgb_report(test, scenario, mode == FAKE_GPU_TWO_PASS ? "two-pass" :
		   "single-pass", n, latency_us, job_us, ns, reps);
	/* Tear the point down now, not at the end of the test. */
	for (i = 0; i < n; i++)
		fgt_release_vm(test, vm[i]);
	fgt_release_devs(test, devs);
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
					  fgb_latencies[l], 0, 0);
}

static void fgb_test_job_bound(struct kunit *test)
{
	unsigned int i, m;

	for (m = 0; m < 2; m++)
		for (i = 0; i < ARRAY_SIZE(fgb_ns); i++)
			fgb_point(test, "job", m ? FAKE_GPU_TWO_PASS :
				  FAKE_GPU_SINGLE_PASS, fgb_ns[i], 1000, 1000,
				  FAKE_GPU_VM_PREEMPT_JOBS);
}

static void fgb_test_noise(struct kunit *test)
{
	fgb_point(test, "noise", FAKE_GPU_TWO_PASS, 8, 1000, 0, 0);
	fgb_point(test, "noise", FAKE_GPU_TWO_PASS, 8, 1000, 0, 0);
}

/* Scenario core: plain notifiers that never defer. */
struct fgb_notifier {
	struct mmu_interval_notifier sub;
	spinlock_t lock;	/* what a driver's notifier would take */
};

static bool fgb_invalidate(struct mmu_interval_notifier *sub,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq)
{
	struct fgb_notifier *n = container_of(sub, struct fgb_notifier, sub);

	spin_lock(&n->lock);
	mmu_interval_set_seq(sub, cur_seq);
	spin_unlock(&n->lock);
	return true;
}

static bool fgb_invalidate_start(struct mmu_interval_notifier *sub,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq,
				 struct mmu_interval_notifier_finish **finish)
{
	return fgb_invalidate(sub, range, cur_seq);
}

static void fgb_invalidate_finish(struct mmu_interval_notifier_finish *finish)
{
}

static const struct mmu_interval_notifier_ops fgb_single_ops = {
	.invalidate = fgb_invalidate,
};

static const struct mmu_interval_notifier_ops fgb_null_finish_ops = {
	.invalidate_start = fgb_invalidate_start,
	.invalidate_finish = fgb_invalidate_finish,
};

static void fgb_core_point(struct kunit *test, unsigned long addr,
			   unsigned int n, bool two_pass)
{
	const struct mmu_interval_notifier_ops *ops;
	struct fgb_notifier *nf;
	unsigned int i, r;
	int ret;
	u64 *ns;
	ktime_t t0;

	nf = kvcalloc(n, sizeof(*nf), GFP_KERNEL);
	ns = kunit_kcalloc(test, reps, sizeof(*ns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, nf);
	KUNIT_ASSERT_NOT_NULL(test, ns);
	for (i = 0; i < n; i++) {
		spin_lock_init(&nf[i].lock);
		ops = two_pass ? &fgb_null_finish_ops : &fgb_single_ops;
		ret = mmu_interval_notifier_insert(&nf[i].sub, current->mm, addr,
						   FGB_PAGES << PAGE_SHIFT, ops);
		KUNIT_ASSERT_EQ(test, ret, 0);
	}
	for (r = 0; r < reps; r++) {
		fgt_map(test, addr, FGB_PAGES, 0);
		t0 = ktime_get();
		KUNIT_ASSERT_EQ(test, vm_munmap(addr, FGB_PAGES << PAGE_SHIFT), 0);
		ns[r] = ktime_to_ns(ktime_sub(ktime_get(), t0));
	}
	for (i = 0; i < n; i++)
		mmu_interval_notifier_remove(&nf[i].sub);
	kvfree(nf);
	fgb_report(test, "core", two_pass ? "null-finish" : "single-pass", n, 0,
		   0, ns, reps);
}

static void fgb_test_core_overhead(struct kunit *test)
{
	static const unsigned int counts[] = { 1, 100, 1000 };
	unsigned long addr = fgt_map(test, 0, FGB_PAGES, 0);
	unsigned int i;

	KUNIT_ASSERT_EQ(test, vm_munmap(addr, FGB_PAGES << PAGE_SHIFT), 0);
	/* Interleaved, so drift over the run hits both modes alike. */
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		fgb_core_point(test, addr, counts[i], false);
		fgb_core_point(test, addr, counts[i], true);
	}
	tp_detach_mm();
}

static struct kunit_case fgb_cases[] = {
	KUNIT_CASE_SLOW(fgb_test_tlb_bound),
	KUNIT_CASE_SLOW(fgb_test_job_bound),
	KUNIT_CASE_SLOW(fgb_test_core_overhead),
	KUNIT_CASE_SLOW(fgb_test_noise),
	{}
};

static struct kunit_suite fgb_suite = {
	.name = "fake_gpu_bench",
	.test_cases = fgb_cases,
};

kunit_test_suite(fgb_suite);
