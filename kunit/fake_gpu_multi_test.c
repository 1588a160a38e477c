// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of several fake GPUs mirroring one range of one mm: munmap
 * and exit_mmap invalidate them all, two-pass starts all run before any
 * finish, and a bounded stress run of GPU reads and rebinds against CPU
 * unmaps, remaps and MADV_DONTNEED keeps the oracle clean.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>
#include <linux/wait_bit.h>

#include "fake_gpu_test_common.h"
#include "two_pass_thread.h"

#define FGM_DEVS	8
#define FGM_PAGES	8

static const enum fake_gpu_mode fgm_modes[] = {
	FAKE_GPU_SINGLE_PASS, FAKE_GPU_TWO_PASS,
};

static void fgm_mode_desc(const enum fake_gpu_mode *m, char *desc)
{
	strscpy(desc, *m == FAKE_GPU_TWO_PASS ? "two-pass" : "single-pass",
		KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fgm_modes, fgm_modes, fgm_mode_desc);

/*
 * Every device's invalidation completed; in two-pass mode every first
 * pass ran before any finish (checked from the devices' own sequence
 * numbers).
 */
static void fgm_expect_all_invalidated(struct kunit *test,
				       struct fake_gpu_dev **devs,
				       enum fake_gpu_mode mode)
{
	u64 last_start = 0, first_finish = U64_MAX;
	struct fake_gpu_stats st;
	int i;

	for (i = 0; i < FGM_DEVS; i++) {
		fake_gpu_dev_stats(devs[i], &st);
		kunit_info(test, "gpu %d: inval %llu/%llu deferred_jobs %llu deferred_tlb %llu sync_busy %llu sync_idle %llu single_pass %llu finishes %llu start_seq %llu finish_seq %llu\n",
			   i, st.v[FAKE_GPU_STAT_INVAL_COMPLETED],
			   st.v[FAKE_GPU_STAT_INVAL_SUBMITTED], st.v[FAKE_GPU_STAT_DEFERRED_JOBS],
			   st.v[FAKE_GPU_STAT_DEFERRED_TLB], st.v[FAKE_GPU_STAT_SYNC_BUSY],
			   st.v[FAKE_GPU_STAT_SYNC_IDLE], st.v[FAKE_GPU_STAT_SINGLE_PASS],
			   st.v[FAKE_GPU_STAT_FINISHES], st.v[FAKE_GPU_STAT_LAST_START_SEQ],
			   st.v[FAKE_GPU_STAT_LAST_FINISH_SEQ]);
		KUNIT_EXPECT_GE_MSG(test, st.v[FAKE_GPU_STAT_INVAL_SUBMITTED], 1, "device %d", i);
		KUNIT_EXPECT_EQ_MSG(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED],
				    st.v[FAKE_GPU_STAT_INVAL_SUBMITTED],
				    "device %d", i);
		last_start = max(last_start, st.v[FAKE_GPU_STAT_LAST_START_SEQ]);
		if (mode == FAKE_GPU_TWO_PASS) {
			KUNIT_EXPECT_GE_MSG(test, st.v[FAKE_GPU_STAT_FINISHES], 1, "device %d", i);
			first_finish = min(first_finish, st.v[FAKE_GPU_STAT_LAST_FINISH_SEQ]);
		} else {
			KUNIT_EXPECT_GE_MSG(test,
					    st.v[FAKE_GPU_STAT_SINGLE_PASS], 1,
					    "device %d", i);
		}
	}
	if (mode == FAKE_GPU_TWO_PASS)
		KUNIT_EXPECT_LT_MSG(test, last_start, first_finish,
				    "a finish ran before every start had");
}

/* 8 devices mirror one range; one munmap invalidates all of them. */
static void fgm_test_munmap_invalidates_all(struct kunit *test)
{
	const enum fake_gpu_mode *mode = test->param_value;
	unsigned long addr = fgt_map(test, 0, FGM_PAGES, 1);
	struct fake_gpu_dev **devs = fgt_devs(test, FGM_DEVS, 1000, 0);
	struct fake_gpu_userptr *uptr[FGM_DEVS];
	int i;

	for (i = 0; i < FGM_DEVS; i++) {
		struct fake_gpu_vm *vm = fgt_vm(test, devs[i], *mode,
						FAKE_GPU_VM_FAULT_MODE);

		uptr[i] = fgt_userptr(test, vm, addr, FGM_PAGES);
		KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(uptr[i]), 0);
		fgt_expect_reads(test, uptr[i], FGM_PAGES, 1);
	}

	KUNIT_ASSERT_EQ(test, vm_munmap(addr, FGM_PAGES << PAGE_SHIFT), 0);

	fgm_expect_all_invalidated(test, devs, *mode);
	for (i = 0; i < FGM_DEVS; i++) {
		fgt_expect_faults(test, uptr[i], FGM_PAGES);
		KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(uptr[i]), 0);
	}
	tp_detach_mm();
}

static void fgm_vm_destroy(void *vm)
{
	fake_gpu_vm_destroy(vm);
}

/* 8 devices mirror a range of an mm that exits: exit_mmap invalidates all. */
static void fgm_test_exit_mmap_invalidates_all(struct kunit *test)
{
	const enum fake_gpu_mode *mode = test->param_value;
	struct fake_gpu_dev **devs = fgt_devs(test, FGM_DEVS, 1000, 0);
	struct fake_gpu_userptr *uptr[FGM_DEVS];
	struct mm_struct *mm;
	unsigned long addr;
	int i;

	/* An mm of the test's own, so that mmput() runs exit_mmap(). */
	mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, mm);
	mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(mm, &current->signal->rlim[RLIMIT_STACK]);
	kthread_use_mm(mm);
	addr = vm_mmap(NULL, 0, FGM_PAGES << PAGE_SHIFT, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (!IS_ERR_VALUE(addr))
		fgt_write_pattern(test, addr, FGM_PAGES, 3);
	kthread_unuse_mm(mm);
	if (IS_ERR_VALUE(addr)) {
		mmput(mm);
		KUNIT_FAIL(test, "vm_mmap() failed: %ld", (long)addr);
		return;
	}

	for (i = 0; i < FGM_DEVS; i++) {
		struct fake_gpu_vm *vm = fake_gpu_vm_create(devs[i], mm, *mode,
							    FAKE_GPU_VM_FAULT_MODE);

		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vm);
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fgm_vm_destroy,
								vm), 0);
		uptr[i] = fgt_userptr(test, vm, addr, FGM_PAGES);
		KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(uptr[i]), 0);
		fgt_expect_reads(test, uptr[i], FGM_PAGES, 3);
	}

	mmput(mm);	/* exit_mmap(): the release walk, then the unmap */

	fgm_expect_all_invalidated(test, devs, *mode);
	for (i = 0; i < FGM_DEVS; i++)
		fgt_expect_faults(test, uptr[i], FGM_PAGES);
}

/*
 * Stress: GPU readers and rebinders on 8 devices, mixed single- and
 * two-pass VMs, against CPU munmap/mmap churn and MADV_DONTNEED in the
 * test thread. Bounded in iterations and time; the seed is printed and
 * can be given back with fake_gpu_test.stress_seed= on the kernel command
 * line.
 */
static unsigned int stress_seed;
module_param(stress_seed, uint, 0444);
MODULE_PARM_DESC(stress_seed, "seed of the fake-gpu stress test (0: random)");

#define FGM_STRESS_ITERS	300
#define FGM_STRESS_MS		5000

struct fgm_stress {
	struct fake_gpu_userptr *uptr[FGM_DEVS];
	struct fake_gpu_vm *vm[FGM_DEVS];
	atomic_t stop;
	atomic_t running;
	atomic64_t reads;
	atomic64_t binds;
	atomic64_t bad_values;
	/*
	 * Per page, one word so a reader sees both halves of one moment: the
	 * low half is 2 * the salt of its pattern, or 2 * the new salt - 1
	 * while the CPU changes it; the high half, while it changes, the salt
	 * before the change.
	 */
	atomic64_t window[FGM_PAGES];
};

struct fgm_worker {
	struct fgm_stress *s;
	int index;
	u32 seed;
};

/* A worker's last act: fgm_stress_stop() waits for the count to drop to 0. */
static void fgm_worker_done(struct fgm_stress *s)
{
	if (atomic_dec_and_test(&s->running))
		wake_up_var(&s->running);
}

/*
 * Whether a GPU read of @page is right, given the page's window before
 * (@w0) and after (@w1) it: inside one settled window, the page's current
 * pattern; across a change, the pattern of any salt from the one before
 * the change to the newest, or zero (a page not written yet). A stale
 * translation reads an older salt, or garbage.
 */
static bool fgm_value_ok(u64 val, unsigned long page, u64 w0, u64 w1)
{
	u32 lo = (u32)w0 & 1 ? w0 >> 32 : (u32)w0 / 2;
	u32 hi = ((u32)w1 + 1) / 2, salt;

	if (w0 == w1 && !(w0 & 1))
		return val == fgt_pattern((u32)w0 / 2, page);
	for (salt = lo; salt <= hi; salt++)
		if (val == fgt_pattern(salt, page))
			return true;
	return !val;
}

/*
 * The CPU starts (!@done) or has finished (@done) giving @page (all pages
 * if @page is FGM_PAGES) the pattern of @salt.
 */
static void fgm_change(struct fgm_stress *s, unsigned long page, u32 salt,
		       bool done)
{
	unsigned long i;
	u64 old;

	for (i = 0; i < FGM_PAGES; i++) {
		if (page != FGM_PAGES && i != page)
			continue;
		old = atomic64_read(&s->window[i]);
		atomic64_set_release(&s->window[i], done ? 2 * salt :
				     (u64)((u32)old / 2) << 32 | (2 * salt - 1));
	}
}

static void fgm_reader_fn(void *arg)
{
	struct fgm_worker *w = arg;
	struct fgm_stress *s = w->s;
	struct rnd_state rnd;
	unsigned int n = 0;
	u64 val, w0, w1;

	prandom_seed_state(&rnd, w->seed);
	while (!atomic_read(&s->stop)) {
		unsigned long page = prandom_u32_state(&rnd) % FGM_PAGES;

		/* UML has one CPU: leave the CPU side some of it. */
		if (++n % 64 == 0)
			usleep_range(50, 100);
		w0 = atomic64_read_acquire(&s->window[page]);
		if (!fake_gpu_read(s->uptr[w->index], page << PAGE_SHIFT, &val)) {
			w1 = atomic64_read_acquire(&s->window[page]);
			if (!fgm_value_ok(val, page, w0, w1))
				atomic64_inc(&s->bad_values);
			atomic64_inc(&s->reads);
		}
	}
	fgm_worker_done(s);
}

static void fgm_binder_fn(void *arg)
{
	struct fgm_worker *w = arg;
	struct fgm_stress *s = w->s;
	struct rnd_state rnd;

	prandom_seed_state(&rnd, w->seed);
	while (!atomic_read(&s->stop)) {
		unsigned int i = prandom_u32_state(&rnd) % FGM_DEVS;

		/* -EFAULT while the range is unmapped is expected. */
		if (!fake_gpu_userptr_bind(s->uptr[i]))
			atomic64_inc(&s->binds);
		if (prandom_u32_state(&rnd) % 4 == 0)
			fake_gpu_vm_submit_job(s->vm[i], 50, NULL);
		usleep_range(100, 200);
	}
	fgm_worker_done(s);
}

/* Stop the workers and wait for them, before the VMs are destroyed. */
static void fgm_stress_stop(void *data)
{
	struct fgm_stress *s = data;

	atomic_set(&s->stop, 1);
	WARN(!wait_var_event_timeout(&s->running, !atomic_read(&s->running),
				     msecs_to_jiffies(5000)),
	     "fake-gpu stress workers did not stop");
}

static void fgm_test_stress(struct kunit *test)
{
	unsigned long addr = fgt_map(test, 0, FGM_PAGES, 0);
	struct fake_gpu_dev **devs = fgt_devs(test, FGM_DEVS, 50, 50);
	unsigned long len = FGM_PAGES << PAGE_SHIFT;
	struct tp_thread *threads[FGM_DEVS + 2];
	struct fgm_worker *workers;
	unsigned long start, deadline, iter;
	long violations = 0;
	struct rnd_state rnd;
	struct fgm_stress *s;
	u32 seed;
	int i;

	seed = stress_seed ?: get_random_u32();
	kunit_info(test, "seed %u (reproduce with fake_gpu_test.stress_seed=%u)\n",
		   seed, seed);
	prandom_seed_state(&rnd, seed);

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	/* The workers' threads outlive a failed assertion: not on the stack. */
	workers = kunit_kcalloc(test, ARRAY_SIZE(threads), sizeof(*workers), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, workers);
	for (i = 0; i < FGM_DEVS; i++) {
		/*
		 * Mixed: single/two-pass, fault mode or not, pool or embedded;
		 * the pool's VM overlaps, where KASAN sees a late submission.
		 */
		enum fake_gpu_mode mode = i % 2 ? FAKE_GPU_TWO_PASS :
						  FAKE_GPU_SINGLE_PASS;
		unsigned int flags = (i % 4 >= 2 ? FAKE_GPU_VM_FAULT_MODE : 0) |
				     (i == 7 ? FAKE_GPU_VM_FINISH_POOL |
					       FAKE_GPU_VM_TLB_OVERLAP : 0);

		s->vm[i] = fgt_vm(test, devs[i], mode, flags);
		s->uptr[i] = fgt_userptr(test, s->vm[i], addr, FGM_PAGES);
		KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(s->uptr[i]), 0);
	}
	for (i = 0; i < ARRAY_SIZE(threads); i++) {
		workers[i].s = s;
		workers[i].index = i % FGM_DEVS;
		workers[i].seed = prandom_u32_state(&rnd);
		atomic_inc(&s->running);
		threads[i] = tp_thread_run(test, i < FGM_DEVS ? "fgm-read" : "fgm-bind",
					   NULL, i < FGM_DEVS ? fgm_reader_fn :
					   fgm_binder_fn, &workers[i]);
		if (!threads[i])
			atomic_dec(&s->running);
		KUNIT_ASSERT_NOT_NULL(test, threads[i]);
		/* Cleanup stops the workers before it reaps this one. */
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fgm_stress_stop, s), 0);
	}

	start = jiffies;
	deadline = start + msecs_to_jiffies(FGM_STRESS_MS);
	for (iter = 0; iter < FGM_STRESS_ITERS && time_before(jiffies, deadline);
	     iter++) {
		unsigned long page = prandom_u32_state(&rnd) % FGM_PAGES;

		u32 salt = iter + 1;	/* never the first mapping's 0 */

		switch (prandom_u32_state(&rnd) % 4) {
		case 0:		/* unmap all, map new pages */
			fgm_change(s, FGM_PAGES, salt, false);
			KUNIT_ASSERT_EQ(test, vm_munmap(addr, len), 0);
			fgt_map(test, addr, FGM_PAGES, salt);
			fgm_change(s, FGM_PAGES, salt, true);
			break;
		case 1:		/* unmap one page, map a new one */
			fgm_change(s, page, salt, false);
			KUNIT_ASSERT_EQ(test, vm_munmap(addr + (page << PAGE_SHIFT),
							PAGE_SIZE), 0);
			fgt_remap_page(test, addr, page, salt);
			fgm_change(s, page, salt, true);
			break;
		case 2:		/* drop the pages, keep the mapping */
			fgm_change(s, FGM_PAGES, salt, false);
			KUNIT_ASSERT_EQ(test, do_madvise(current->mm, addr, len,
							 MADV_DONTNEED), 0);
			fgt_write_pattern(test, addr, FGM_PAGES, salt);
			fgm_change(s, FGM_PAGES, salt, true);
			break;
		default:	/* let the workers run */
			usleep_range(200, 400);
			break;
		}
		/* After each invalidation returned: no stale translation. */
		for (i = 0; i < FGM_DEVS; i++)
			violations += fake_gpu_userptr_check(s->uptr[i]);
	}

	fgm_stress_stop(s);
	for (i = 0; i < ARRAY_SIZE(threads); i++)
		KUNIT_EXPECT_TRUE(test, tp_thread_wait(threads[i], 5000));
	kunit_info(test, "%lu iterations in %u ms, %lld GPU reads, %lld binds\n",
		   iter, jiffies_to_msecs(jiffies - start),
		   atomic64_read(&s->reads), atomic64_read(&s->binds));
	KUNIT_EXPECT_EQ(test, violations, 0);
	KUNIT_EXPECT_EQ(test, atomic64_read(&s->bad_values), 0);
	KUNIT_EXPECT_GT(test, iter, 0);
	KUNIT_EXPECT_GT(test, atomic64_read(&s->reads), 0);
	tp_detach_mm();
}

static struct kunit_case fgm_cases[] = {
	KUNIT_CASE_PARAM(fgm_test_munmap_invalidates_all, fgm_modes_gen_params),
	KUNIT_CASE_PARAM(fgm_test_exit_mmap_invalidates_all, fgm_modes_gen_params),
	KUNIT_CASE_SLOW(fgm_test_stress),
	{}
};

static struct kunit_suite fgm_suite = {
	.name = "fake_gpu_multi",
	.test_cases = fgm_cases,
};

kunit_test_suite(fgm_suite);
