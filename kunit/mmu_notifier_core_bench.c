// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the notifier core costs the users it already has.
 *
 * K plain single-pass mmu_interval_notifiers cover one range and munmap()
 * invalidates it. The suite uses only the interface every kernel has, so
 * that it builds on the pristine base as well as with the two-pass series:
 * "scripts/rig bench --pristine" boots the two kernels alternately and
 * compares them. On a tree with the series it also measures notifiers
 * whose first pass never defers (invalidate_start returning no finish).
 *
 * Under UML the clock reads in steps of 256 ns and one munmap() of 64
 * pages takes a few microseconds, so one sample times a batch: a mapping
 * of FCB_CHUNKS chunks of 64 pages, populated, the K notifiers spanning
 * all of it, and the chunks unmapped one after another. A sample is the
 * batch's time divided by FCB_CHUNKS. K = 0 keeps one notifier away from
 * the range, so that the core still walks its interval tree.
 *
 * Results are KTAP diagnostic lines, one per point:
 *
 *   # <test>: BENCH scenario=core mode=<m> n=<K> latency_us=0 job_us=0
 *     reps=<R> min_ns=<a> median_ns=<b> max_ns=<c>
 *
 * (one line), parsed by "scripts/rig bench". Nothing here asserts a time.
 */
#include <kunit/test.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/mmu_notifier.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bench_report.h"

#define FCB_CHUNK_PAGES	64
#define FCB_CHUNKS	64
#define FCB_CHUNK_SIZE	(FCB_CHUNK_PAGES << PAGE_SHIFT)
#define FCB_SIZE	(FCB_CHUNKS * FCB_CHUNK_SIZE)

static unsigned int reps = 20;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "samples per point (each a batch of munmaps)");

/*
 * Off when two kernels are compared: both must then run the same points in
 * the same order, or what the extra points allocate before a later one
 * (kvzalloc() of 1000 notifiers may or may not fall back to vmalloc) is
 * measured as a difference between the kernels.
 */
static bool null_finish = true;
module_param(null_finish, bool, 0444);
MODULE_PARM_DESC(null_finish, "also time two-pass notifiers that never defer (series only)");

struct fcb_notifier {
	struct mmu_interval_notifier sub;
	spinlock_t lock;	/* what a driver's notifier would take */
};

static bool fcb_invalidate(struct mmu_interval_notifier *sub,
			   const struct mmu_notifier_range *range,
			   unsigned long cur_seq)
{
	struct fcb_notifier *n = container_of(sub, struct fcb_notifier, sub);

	spin_lock(&n->lock);
	mmu_interval_set_seq(sub, cur_seq);
	spin_unlock(&n->lock);
	return true;
}

static const struct mmu_interval_notifier_ops fcb_single_ops = {
	.invalidate = fcb_invalidate,
};

#ifdef RIG_HAVE_TWO_PASS_NOTIFIER
static bool fcb_invalidate_start(struct mmu_interval_notifier *sub,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq,
				 struct mmu_interval_notifier_finish **finish)
{
	return fcb_invalidate(sub, range, cur_seq);
}

static void fcb_invalidate_finish(struct mmu_interval_notifier_finish *finish)
{
}

static const struct mmu_interval_notifier_ops fcb_null_finish_ops = {
	.invalidate_start = fcb_invalidate_start,
	.invalidate_finish = fcb_invalidate_finish,
};
#endif

/* Map the whole range at @addr (0: anywhere) and fault every page in. */
static unsigned long fcb_map(struct kunit *test, unsigned long addr)
{
	unsigned long flags = MAP_ANONYMOUS | MAP_PRIVATE | (addr ? MAP_FIXED : 0);
	unsigned long a;

	addr = kunit_vm_mmap(test, NULL, addr, FCB_SIZE, PROT_READ | PROT_WRITE,
			     flags, 0);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() failed");
	for (a = addr; a < addr + FCB_SIZE; a += PAGE_SIZE)
		KUNIT_ASSERT_EQ(test, put_user(0x5a, (u8 __user *)a), 0);
	return addr;
}

/* One sample: the munmap()s of every chunk, per munmap, in ns. */
static u64 fcb_sample(struct kunit *test, unsigned long addr)
{
	unsigned long a;
	ktime_t t0;

	fcb_map(test, addr);
	t0 = ktime_get();
	for (a = addr; a < addr + FCB_SIZE; a += FCB_CHUNK_SIZE)
		KUNIT_ASSERT_EQ(test, vm_munmap(a, FCB_CHUNK_SIZE), 0);
	return div_u64(ktime_to_ns(ktime_sub(ktime_get(), t0)), FCB_CHUNKS);
}

/* The notifiers of one point; removed by fcb_remove(), a KUnit action. */
struct fcb_set {
	unsigned int count;
	unsigned int inserted;
	struct fcb_notifier nf[] __counted_by(count);
};

static void fcb_remove(void *data)
{
	struct fcb_set *set = data;

	while (set->inserted)
		mmu_interval_notifier_remove(&set->nf[--set->inserted].sub);
	kvfree(set);
}

/*
 * K notifiers with @ops on [@addr, @addr + FCB_SIZE), or for K = 0 one on
 * the range after it; reps samples, then one BENCH line.
 */
static void fcb_point(struct kunit *test, unsigned long addr, unsigned int k,
		      const struct mmu_interval_notifier_ops *ops,
		      const char *mode)
{
	unsigned int count = k ? k : 1;
	struct fcb_set *set;
	unsigned int r;
	u64 *ns;

	ns = kunit_kcalloc(test, reps, sizeof(*ns), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ns);
	set = kvzalloc(struct_size(set, nf, count), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, set);
	set->count = count;
	/* Removed at the end of the point, or by the cleanup if it fails. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fcb_remove, set), 0);
	while (set->inserted < set->count) {
		struct fcb_notifier *n = &set->nf[set->inserted];
		int ret;

		spin_lock_init(&n->lock);
		ret = mmu_interval_notifier_insert(&n->sub, current->mm,
						   k ? addr : addr + FCB_SIZE,
						   FCB_SIZE, ops);
		KUNIT_ASSERT_EQ(test, ret, 0);
		set->inserted++;
	}
	for (r = 0; r < reps; r++)
		ns[r] = fcb_sample(test, addr);
	kunit_release_action(test, fcb_remove, set);

	bench_report(test, "core", mode, k, 0, 0, ns, reps);
	kunit_kfree(test, ns);
}

static void fcb_mmput(void *mm)
{
	mmput(mm);
}

static void fcb_test_single_pass(struct kunit *test)
{
	static const unsigned int counts[] = { 0, 1, 100, 1000, 10000 };
	unsigned long addr;
	unsigned int i;

	KUNIT_ASSERT_GT(test, reps, 0);
	addr = fcb_map(test, 0);
	/*
	 * The mm kunit_vm_mmap() attached to this thread is torn down when
	 * the thread exits; hold it until the test's cleanup has run.
	 */
	mmget(current->mm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fcb_mmput,
							current->mm), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, FCB_SIZE), 0);
	/* Interleaved, so drift over the run hits both modes alike. */
	for (i = 0; i < ARRAY_SIZE(counts); i++) {
		fcb_point(test, addr, counts[i], &fcb_single_ops, "single-pass");
#ifdef RIG_HAVE_TWO_PASS_NOTIFIER
		if (null_finish)
			fcb_point(test, addr, counts[i], &fcb_null_finish_ops,
				  "null-finish");
#endif
	}
}

static struct kunit_case fcb_cases[] = {
	KUNIT_CASE_SLOW(fcb_test_single_pass),
	{}
};

static struct kunit_suite fcb_suite = {
	.name = "mmu_notifier_core_bench",
	.test_cases = fcb_cases,
};

kunit_test_suite(fcb_suite);
