// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests for two-pass mmu_interval_notifiers.
 *
 * Each case pins down one rule of the core's contract for
 * invalidate_start()/invalidate_finish() (see struct
 * mmu_interval_notifier_ops), driven through the real paths: vm_munmap() on
 * the test's mm, exit_mmap() of an mm dropped with mmput(), the
 * non-blocking start used by the OOM reaper, and rmap-style
 * invalidate_range_start()/end() pairs from other threads.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/workqueue.h>

#include "rig_compat.h"
#include "two_pass_recorder.h"
#include "two_pass_thread.h"

#define TP_PAGES	8
#define TP_WAIT_MS	5000	/* for things that must happen */
#define TP_BLOCKED_MS	200	/* to see that something stays blocked */
#define TP_RELEASE_MS	100	/* delay before a gated finish may return */

struct tp_fixture {
	struct tp_log log;
	struct mm_struct *mm;
	unsigned long addr;
	unsigned long len;
};

static void tp_mmput(void *mm)
{
	mmput(mm);
}

/*
 * Map TP_PAGES anonymous pages into the test's own mm. The mm would be
 * torn down when the test thread exits, concurrently with the cleanup that
 * removes the test's notifiers: its release walk would call notifiers being
 * freed. Hold it until the cleanup has removed them (actions run in
 * reverse order), so exit_mmap() runs last.
 */
static struct tp_fixture *tp_map(struct kunit *test)
{
	struct tp_fixture *f = test->priv;

	f->len = TP_PAGES * PAGE_SIZE;
	f->addr = kunit_vm_mmap(test, NULL, 0, f->len, PROT_READ | PROT_WRITE,
				MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_NE_MSG(test, f->addr, 0, "kunit_vm_mmap() failed");
	f->mm = current->mm;
	mmget(f->mm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tp_mmput, f->mm), 0);
	return f;
}

static struct tp_notifier *tp_insert(struct kunit *test, int id,
				     unsigned long start, unsigned int pages,
				     const struct mmu_interval_notifier_ops *ops)
{
	struct tp_fixture *f = test->priv;
	struct tp_notifier *n;

	n = tp_notifier_insert(test, &f->log, id, f->mm, start,
			       pages * PAGE_SIZE, ops);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, n);
	return n;
}

/* The ids of the @kind events in log order, terminated by -1. */
static void tp_ids(struct tp_log *log, enum tp_event_kind kind, int *ids,
		   int max)
{
	int i, n = 0;

	spin_lock(&log->lock);
	for (i = 0; i < log->count && n < max - 1; i++)
		if (log->events[i].kind == kind)
			ids[n++] = log->events[i].id;
	spin_unlock(&log->lock);
	ids[n] = -1;
}

/* Complete a finish gate after a delay, from a workqueue. */
struct tp_release {
	struct delayed_work work;
	struct completion *gate;
};

static void tp_release_fn(struct work_struct *work)
{
	struct tp_release *r = container_of(to_delayed_work(work),
					    struct tp_release, work);

	complete(r->gate);
}

static void tp_release_flush(void *data)
{
	struct tp_release *r = data;

	/* A failed test may not have released the gate: do it now. */
	mod_delayed_work(system_wq, &r->work, 0);
	flush_delayed_work(&r->work);
}

static void tp_release_after(struct kunit *test, struct completion *gate,
			     unsigned int ms)
{
	struct tp_release *r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, r);
	r->gate = gate;
	INIT_DELAYED_WORK(&r->work, tp_release_fn);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tp_release_flush, r), 0);
	schedule_delayed_work(&r->work, msecs_to_jiffies(ms));
}

/* An invalidation as rmap walkers do it: no mmap_lock, start then end. */
struct tp_clear_args {
	struct mm_struct *mm;
	unsigned long start;
	unsigned long end;
};

static void tp_clear_fn(void *arg)
{
	struct tp_clear_args *a = arg;
	struct mmu_notifier_range range;

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, a->mm, a->start,
				a->end);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
}

struct tp_reader_args {
	struct tp_notifier *n;
	int finish_returned;	/* finishes returned when read_begin() did */
};

static void tp_read_begin_fn(void *arg)
{
	struct tp_reader_args *a = arg;

	mmu_interval_read_begin(&a->n->sub);
	a->finish_returned = atomic_read(&a->n->finish_returned);
}

static void tp_remove_fn(void *arg)
{
	struct tp_reader_args *a = arg;

	a->n->removed = true;
	mmu_interval_notifier_remove(&a->n->sub);
	a->finish_returned = atomic_read(&a->n->finish_returned);
}

/* Rule 1: *finish is NULL on entry to invalidate_start(). */
static void tp_test_finish_null_on_entry(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	struct tp_notifier *n[3];
	int i;

	/* Each start hands out a finish: a core reusing the variable leaks it. */
	for (i = 0; i < ARRAY_SIZE(n); i++)
		n[i] = tp_insert(test, i, f->addr, TP_PAGES, &tp_two_pass_ops);

	KUNIT_ASSERT_EQ(test, vm_munmap(f->addr, f->len), 0);

	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_DEFERRED, -1), 3);
	for (i = 0; i < ARRAY_SIZE(n); i++)
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&n[i]->entry_not_null), 0,
				    "notifier %d saw *finish != NULL", i);
	tp_detach_mm();
}

/*
 * Rule 2: a returned finish gets exactly one invalidate_finish() call, with
 * the same pointer and ->notifier set, after every notifier of the range
 * (single-pass ones included) had its first pass.
 */
static void tp_test_finish_after_every_start(struct kunit *test)
{
	static const struct mmu_interval_notifier_ops *ops[] = {
		&tp_two_pass_ops, &tp_single_pass_ops, &tp_two_pass_ops,
		&tp_two_pass_ops, &tp_single_pass_ops, &tp_two_pass_ops,
	};
	struct tp_fixture *f = tp_map(test);
	struct tp_notifier *n[ARRAY_SIZE(ops)];
	unsigned long seq;
	int i;

	for (i = 0; i < ARRAY_SIZE(n); i++)
		n[i] = tp_insert(test, i, f->addr + (i % 4) * PAGE_SIZE, 4,
				 ops[i]);

	KUNIT_ASSERT_EQ(test, vm_munmap(f->addr, f->len), 0);

	KUNIT_EXPECT_FALSE(test, f->log.overflow);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_DEFERRED, -1), 4);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_INVALIDATE, -1), 2);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, -1), 4);
	KUNIT_EXPECT_LT(test, tp_last(&f->log, TP_START_DEFERRED),
			tp_first(&f->log, TP_FINISH));
	KUNIT_EXPECT_LT(test, tp_last(&f->log, TP_INVALIDATE),
			tp_first(&f->log, TP_FINISH));
	for (i = 0; i < ARRAY_SIZE(n); i++) {
		bool two_pass = ops[i] == &tp_two_pass_ops;

		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&n[i]->finish_returned),
				    two_pass ? 1 : 0, "notifier %d", i);
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&n[i]->wrong_pointer), 0,
				    "notifier %d", i);
	}

	/* One walk: every first pass saw the same, odd, sequence number. */
	seq = f->log.events[0].cur_seq;
	KUNIT_EXPECT_TRUE(test, seq & 1);
	for (i = 0; i < f->log.count; i++) {
		struct tp_event *ev = &f->log.events[i];

		if (ev->kind == TP_FINISH)
			continue;
		KUNIT_EXPECT_EQ(test, ev->cur_seq, seq);
		KUNIT_EXPECT_EQ(test, ev->event, MMU_NOTIFY_UNMAP);
		KUNIT_EXPECT_TRUE(test, ev->blockable);
	}
	tp_detach_mm();
}

/* Rule 3: finishes run in the order their first passes ran. */
static void tp_test_finish_order(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	int starts[8], finishes[8];
	int i;

	/* Inserted in reverse address order: the walk goes by address. */
	for (i = 4; i >= 0; i--)
		tp_insert(test, i, f->addr + i * PAGE_SIZE, 2, &tp_two_pass_ops);

	KUNIT_ASSERT_EQ(test, vm_munmap(f->addr, f->len), 0);

	tp_ids(&f->log, TP_START_DEFERRED, starts, ARRAY_SIZE(starts));
	tp_ids(&f->log, TP_FINISH, finishes, ARRAY_SIZE(finishes));
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, -1), 5);
	for (i = 0; i < ARRAY_SIZE(starts) && starts[i] >= 0; i++)
		KUNIT_EXPECT_EQ_MSG(test, finishes[i], starts[i],
				    "finish %d is not in start order", i);
	tp_detach_mm();
}

/*
 * Rule 4: a NULL finish means the first pass did everything; no second
 * pass follows, but the invalidation is still seen by readers.
 */
static void tp_test_null_finish_no_second_pass(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	struct tp_notifier *sync, *busy;
	unsigned long seq_sync, seq_busy;

	sync = tp_insert(test, 0, f->addr, TP_PAGES, &tp_two_pass_ops);
	sync->defer = false;
	busy = tp_insert(test, 1, f->addr, TP_PAGES, &tp_two_pass_ops);
	busy->finish_inuse = true;	/* its embedded finish is taken */

	seq_sync = mmu_interval_read_begin(&sync->sub);
	seq_busy = mmu_interval_read_begin(&busy->sub);
	KUNIT_ASSERT_EQ(test, vm_munmap(f->addr, f->len), 0);

	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_SYNC, -1), 2);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, -1), 0);
	KUNIT_EXPECT_TRUE(test, mmu_interval_read_retry(&sync->sub, seq_sync));
	KUNIT_EXPECT_TRUE(test, mmu_interval_read_retry(&busy->sub, seq_busy));
	busy->finish_inuse = false;
	tp_detach_mm();
}

/*
 * Rule 5: notifiers without invalidate_start() get invalidate() exactly as
 * before, once per invalidation; notifiers with both ops get only the
 * two-pass ones.
 */
static void tp_test_single_pass_unchanged(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	unsigned long half = f->len / 2;

	tp_insert(test, 0, f->addr, TP_PAGES, &tp_single_pass_ops);
	tp_insert(test, 1, f->addr, TP_PAGES, &tp_both_ops);
	tp_insert(test, 2, f->addr, TP_PAGES, &tp_single_pass_ops);

	KUNIT_ASSERT_EQ(test, vm_munmap(f->addr, half), 0);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_INVALIDATE, 0), 1);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_INVALIDATE, 2), 1);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, 1), 1);

	KUNIT_ASSERT_EQ(test, vm_munmap(f->addr + half, half), 0);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_INVALIDATE, 0), 2);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_INVALIDATE, 2), 2);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_INVALIDATE, 1), 0);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_DEFERRED, 1), 2);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, 1), 2);
	tp_detach_mm();
}

/*
 * Start an unmap of the whole mapping in a thread and wait until its one
 * notifier @n blocks in a gated finish.
 */
static struct tp_thread *tp_unmap_until_finish(struct kunit *test,
					       struct tp_notifier *n)
{
	struct tp_unmap_args *args = kunit_kzalloc(test, sizeof(*args), GFP_KERNEL);
	struct tp_fixture *f = test->priv;
	struct tp_thread *unmapper;

	KUNIT_ASSERT_NOT_NULL(test, args);
	args->addr = f->addr;
	args->len = f->len;
	unmapper = tp_thread_run(test, "tp-unmap", f->mm, tp_unmap_fn, args);
	KUNIT_ASSERT_NOT_NULL(test, unmapper);
	KUNIT_ASSERT_NE_MSG(test,
			    wait_for_completion_timeout(&n->finish_entered,
							msecs_to_jiffies(TP_WAIT_MS)),
			    0, "the second pass was never called");
	return unmapper;
}

/*
 * Rule 6: mmu_interval_read_begin() does not return while a second pass
 * is still running: all finishes complete before the interval tree leaves
 * the invalidating state.
 */
static void tp_test_read_begin_waits_for_finish(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	struct tp_thread *unmapper;
	struct tp_notifier *n;

	n = tp_insert(test, 0, f->addr, TP_PAGES, &tp_two_pass_ops);
	n->finish_gate = tp_gate(test);
	unmapper = tp_unmap_until_finish(test, n);

	/* The reader is this thread; the gate opens a little later. */
	tp_release_after(test, n->finish_gate, TP_RELEASE_MS);
	mmu_interval_read_begin(&n->sub);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&n->finish_returned), 1,
			    "read_begin() returned while the finish was running");

	KUNIT_EXPECT_TRUE(test, tp_thread_wait(unmapper, TP_WAIT_MS));
	tp_detach_mm();
}

/*
 * Two invalidations racing on one notifier: the second finds the embedded
 * finish in use and does everything in its first pass, completing while
 * the first is still in its second pass; the tree stays invalidating until
 * that second pass has returned.
 */
static void tp_test_racing_invalidations(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	struct tp_reader_args *reader;
	struct tp_thread *unmapper, *clearer, *rd;
	struct tp_clear_args *clear;
	struct tp_notifier *n;

	n = tp_insert(test, 0, f->addr, TP_PAGES, &tp_two_pass_ops);
	n->finish_gate = tp_gate(test);
	unmapper = tp_unmap_until_finish(test, n);

	clear = kunit_kzalloc(test, sizeof(*clear), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, clear);
	clear->mm = f->mm;
	clear->start = f->addr;
	clear->end = f->addr + f->len;
	clearer = tp_thread_run(test, "tp-clear", f->mm, tp_clear_fn, clear);
	KUNIT_ASSERT_NOT_NULL(test, clearer);
	KUNIT_EXPECT_TRUE_MSG(test, tp_thread_wait(clearer, TP_WAIT_MS),
			      "the racing invalidation did not complete");
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_DEFERRED, 0), 1);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_SYNC, 0), 1);

	reader = kunit_kzalloc(test, sizeof(*reader), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, reader);
	reader->n = n;
	rd = tp_thread_run(test, "tp-read", NULL, tp_read_begin_fn, reader);
	KUNIT_ASSERT_NOT_NULL(test, rd);
	KUNIT_EXPECT_FALSE_MSG(test, tp_thread_wait(rd, TP_BLOCKED_MS),
			       "read_begin() returned during the first finish");

	complete_all(n->finish_gate);
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(unmapper, TP_WAIT_MS));
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(rd, TP_WAIT_MS));
	KUNIT_EXPECT_EQ(test, reader->finish_returned, 1);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, 0), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&n->wrong_pointer), 0);
	tp_detach_mm();
}

/*
 * mmu_interval_notifier_remove() during a pending second pass returns only
 * after that second pass, so the caller may free the notifier.
 */
static void tp_test_remove_waits_for_finish(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	struct tp_reader_args *remover;
	struct tp_thread *unmapper, *rm;
	struct tp_notifier *n;

	n = tp_insert(test, 0, f->addr, TP_PAGES, &tp_two_pass_ops);
	n->finish_gate = tp_gate(test);
	unmapper = tp_unmap_until_finish(test, n);

	remover = kunit_kzalloc(test, sizeof(*remover), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, remover);
	remover->n = n;
	rm = tp_thread_run(test, "tp-remove", NULL, tp_remove_fn, remover);
	KUNIT_ASSERT_NOT_NULL(test, rm);
	KUNIT_EXPECT_FALSE_MSG(test, tp_thread_wait(rm, TP_BLOCKED_MS),
			       "remove() returned during the finish");

	complete_all(n->finish_gate);
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(unmapper, TP_WAIT_MS));
	/* On timeout n leaks rather than being freed under the remover. */
	KUNIT_ASSERT_TRUE(test, tp_thread_wait(rm, TP_WAIT_MS));
	KUNIT_EXPECT_EQ(test, remover->finish_returned, 1);
	tp_detach_mm();
}

/* Whether the tree is idle for @n: read_begin() returns promptly. */
static bool tp_read_begin_returns(struct kunit *test, struct tp_notifier *n)
{
	struct tp_reader_args *reader;
	struct tp_thread *rd;

	reader = kunit_kzalloc(test, sizeof(*reader), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, reader);
	reader->n = n;
	rd = tp_thread_run(test, "tp-read", NULL, tp_read_begin_fn, reader);
	KUNIT_ASSERT_NOT_NULL(test, rd);
	return tp_thread_wait(rd, TP_WAIT_MS);
}

/*
 * Rule 7: on a non-blockable range a first pass that would sleep returns
 * false: the walk stops there, the second passes already queued still run,
 * the tree leaves the invalidating state and the caller gets -EAGAIN.
 */
static void tp_test_nonblock_eagain(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	struct mmu_notifier_range range;
	struct tp_notifier *a, *b;
	int ret, i;

	a = tp_insert(test, 0, f->addr, 2, &tp_two_pass_ops);
	b = tp_insert(test, 1, f->addr + 2 * PAGE_SIZE, 2, &tp_two_pass_ops);
	b->refuse_nonblock = true;
	tp_insert(test, 2, f->addr + 4 * PAGE_SIZE, 2, &tp_two_pass_ops);

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, f->addr,
				f->addr + f->len);
	mmap_read_lock(f->mm);
	ret = mmu_notifier_invalidate_range_start_nonblock(&range);
	mmap_read_unlock(f->mm);

	KUNIT_EXPECT_EQ(test, ret, -EAGAIN);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_DEFERRED, 0), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&a->finish_returned), 1);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_REFUSED, 1), 1);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, 1), 0);
	KUNIT_EXPECT_EQ_MSG(test, tp_count(&f->log, TP_START_DEFERRED, 2) +
			    tp_count(&f->log, TP_START_SYNC, 2), 0,
			    "the walk went on after a refused first pass");
	for (i = 0; i < f->log.count; i++)
		if (f->log.events[i].kind != TP_FINISH)
			KUNIT_EXPECT_FALSE(test, f->log.events[i].blockable);

	/* a's first pass set its sequence: it collides while invalidating. */
	if (!tp_read_begin_returns(test, a)) {
		KUNIT_FAIL(test, "the tree is still invalidating after -EAGAIN");
		/* Undo the core's leak so the mm can be torn down. */
		mmu_notifier_invalidate_range_end(&range);
	}
	tp_detach_mm();
}

/* Rule 7, the other outcome: a non-blockable walk that completes. */
static void tp_test_nonblock_success(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	struct mmu_notifier_range range;
	int ret;

	tp_insert(test, 0, f->addr, 2, &tp_two_pass_ops);
	tp_insert(test, 1, f->addr + 2 * PAGE_SIZE, 2, &tp_single_pass_ops);
	tp_insert(test, 2, f->addr + 4 * PAGE_SIZE, 2, &tp_two_pass_ops);

	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, f->mm, f->addr,
				f->addr + f->len);
	mmap_read_lock(f->mm);
	ret = mmu_notifier_invalidate_range_start_nonblock(&range);
	KUNIT_EXPECT_EQ(test, ret, 0);
	/* The second passes ran inside the start call. */
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, -1), 2);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_INVALIDATE, 1), 1);
	if (!ret)
		mmu_notifier_invalidate_range_end(&range);
	mmap_read_unlock(f->mm);
	tp_detach_mm();
}

/*
 * An mm of the test's own with TP_PAGES mapped, so that mmput() runs
 * exit_mmap() and its release walk. Returns the address, or 0 after a
 * failure is recorded.
 */
static unsigned long tp_map_own_mm(struct kunit *test)
{
	struct tp_fixture *f = test->priv;
	unsigned long addr;

	f->mm = mm_alloc();
	KUNIT_ASSERT_NOT_NULL(test, f->mm);
	f->mm->task_size = TASK_SIZE;
	arch_pick_mmap_layout(f->mm, &current->signal->rlim[RLIMIT_STACK]);
	kthread_use_mm(f->mm);
	addr = vm_mmap(NULL, 0, TP_PAGES * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	kthread_unuse_mm(f->mm);
	if (IS_ERR_VALUE(addr)) {
		mmput(f->mm);
		KUNIT_FAIL(test, "vm_mmap() failed: %ld", (long)addr);
		return 0;
	}
	return addr;
}

/* Rule 8: exit_mmap()'s release walk follows the same two-pass rules. */
static void tp_test_release_walk(struct kunit *test)
{
	static const struct mmu_interval_notifier_ops *ops[] = {
		&tp_two_pass_ops, &tp_single_pass_ops, &tp_two_pass_ops,
		&tp_two_pass_ops,
	};
	struct tp_fixture *f = test->priv;
	struct tp_notifier *n[ARRAY_SIZE(ops)];
	int starts[4], finishes[4];
	unsigned long addr;
	int i;

	addr = tp_map_own_mm(test);
	if (!addr)
		return;
	/* Inserted in reverse address order: the walk goes by address. */
	for (i = ARRAY_SIZE(n) - 1; i >= 0; i--)
		n[i] = tp_insert(test, i, addr + i * PAGE_SIZE, 2, ops[i]);

	mmput(f->mm);	/* exit_mmap(): the release walk, then unmap_vmas() */

	/*
	 * The release walk is the first: three deferred starts and one
	 * invalidate, all MMU_NOTIFY_RELEASE, then the three finishes in
	 * start order, before exit_mmap() goes on to unmap the VMAs.
	 */
	KUNIT_ASSERT_GE(test, f->log.count, 7);
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_NE(test, f->log.events[i].kind, TP_FINISH);
		KUNIT_EXPECT_EQ(test, f->log.events[i].event, MMU_NOTIFY_RELEASE);
	}
	for (i = 4; i < 7; i++)
		KUNIT_EXPECT_EQ_MSG(test, f->log.events[i].kind, TP_FINISH,
				    "event %d of the release walk", i);
	tp_ids(&f->log, TP_START_DEFERRED, starts, 4);
	tp_ids(&f->log, TP_FINISH, finishes, 4);
	for (i = 0; i < 3; i++)
		KUNIT_EXPECT_EQ(test, finishes[i], starts[i]);

	/* unmap_vmas() then invalidates the same notifiers once more. */
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_DEFERRED, -1), 6);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_INVALIDATE, -1), 2);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, -1), 6);
	for (i = 0; i < ARRAY_SIZE(n); i++) {
		KUNIT_EXPECT_EQ(test, atomic_read(&n[i]->finish_returned),
				ops[i] == &tp_two_pass_ops ? 2 : 0);
		KUNIT_EXPECT_EQ(test, atomic_read(&n[i]->wrong_pointer), 0);
	}
}

/*
 * Rules 4 and 8: in the release walk too, a first pass that hands out no
 * finish (it finished synchronously, or its embedded finish is busy) gets
 * no second pass.
 */
static void tp_test_release_walk_null_finish(struct kunit *test)
{
	struct tp_fixture *f = test->priv;
	struct tp_notifier *sync, *busy;
	unsigned long addr;

	addr = tp_map_own_mm(test);
	if (!addr)
		return;
	sync = tp_insert(test, 0, addr, 2, &tp_two_pass_ops);
	sync->defer = false;
	busy = tp_insert(test, 1, addr + 2 * PAGE_SIZE, 2, &tp_two_pass_ops);
	busy->finish_inuse = true;	/* its embedded finish is taken */

	mmput(f->mm);	/* exit_mmap(): the release walk, then unmap_vmas() */

	KUNIT_ASSERT_GE(test, f->log.count, 2);
	KUNIT_EXPECT_EQ(test, f->log.events[0].event, MMU_NOTIFY_RELEASE);
	KUNIT_EXPECT_EQ(test, f->log.events[1].event, MMU_NOTIFY_RELEASE);
	/* Two synchronous first passes in each walk, and no second pass. */
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_SYNC, -1), 4);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, -1), 0);
	busy->finish_inuse = false;
}

/*
 * Rule 9: ops with invalidate_start() but no invalidate_finish() draw a
 * one-time warning from mmu_interval_notifier_insert(), which registers the
 * notifier all the same, as upstream does. The runner expects that warning
 * in this test (configs/expected-splats.ini) and fails if it is missing.
 * A notifier that never hands out a finish then works as a single-pass one.
 */
static void tp_test_start_without_finish_warns(struct kunit *test)
{
	struct tp_fixture *f = tp_map(test);
	struct tp_notifier *n;
	unsigned long seq;

	n = tp_insert(test, 0, f->addr, TP_PAGES, &tp_start_only_ops);

	seq = mmu_interval_read_begin(&n->sub);
	KUNIT_ASSERT_EQ(test, vm_munmap(f->addr, f->len), 0);

	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_START_SYNC, 0), 1);
	KUNIT_EXPECT_EQ(test, tp_count(&f->log, TP_FINISH, -1), 0);
	KUNIT_EXPECT_TRUE(test, mmu_interval_read_retry(&n->sub, seq));
	tp_detach_mm();
}

static int tp_init(struct kunit *test)
{
	struct tp_fixture *f = kunit_kzalloc(test, sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	tp_log_init(&f->log);
	test->priv = f;
	return 0;
}

static struct kunit_case tp_core_cases[] = {
	KUNIT_CASE(tp_test_finish_null_on_entry),
	KUNIT_CASE(tp_test_finish_after_every_start),
	KUNIT_CASE(tp_test_finish_order),
	KUNIT_CASE(tp_test_null_finish_no_second_pass),
	KUNIT_CASE(tp_test_single_pass_unchanged),
	KUNIT_CASE(tp_test_read_begin_waits_for_finish),
	KUNIT_CASE(tp_test_racing_invalidations),
	KUNIT_CASE(tp_test_remove_waits_for_finish),
	KUNIT_CASE(tp_test_nonblock_eagain),
	KUNIT_CASE(tp_test_nonblock_success),
	KUNIT_CASE(tp_test_release_walk),
	KUNIT_CASE(tp_test_release_walk_null_finish),
	KUNIT_CASE(tp_test_start_without_finish_warns),
	{}
};

static struct kunit_suite tp_core_suite = {
	.name = "mmu_interval_two_pass",
	.init = tp_init,
	.test_cases = tp_core_cases,
};

kunit_test_suite(tp_core_suite);
