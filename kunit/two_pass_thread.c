// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel threads for the two-pass core tests.
 *
 * A thread that works on the test's mm runs with it attached through
 * kthread_use_mm() and holds an mm_users reference, so vm_munmap() acts on
 * the test's address space. The thread state is reference counted: when a
 * test fails while a thread is still blocked, the thread keeps its state
 * (and the mm) alive until it returns, instead of touching freed memory.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/kref.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "rig_compat.h"
#include "two_pass_thread.h"

struct tp_thread {
	struct kref ref;
	struct completion done;
	struct mm_struct *mm;
	void (*fn)(void *arg);
	void *arg;
};

static void tp_thread_release(struct kref *ref)
{
	kfree(container_of(ref, struct tp_thread, ref));
}

static void tp_thread_put(void *data)
{
	struct tp_thread *t = data;

	kref_put(&t->ref, tp_thread_release);
}

static int tp_thread_fn(void *data)
{
	struct tp_thread *t = data;

	if (t->mm)
		kthread_use_mm(t->mm);
	t->fn(t->arg);
	if (t->mm) {
		kthread_unuse_mm(t->mm);
		mmput(t->mm);
	}
	complete(&t->done);
	tp_thread_put(t);
	return 0;
}

/*
 * Run @fn(@arg) in a new kernel thread, with @mm attached if not NULL.
 * Returns NULL (and fails the test) if the thread cannot be created.
 */
struct tp_thread *tp_thread_run(struct kunit *test, const char *name,
				struct mm_struct *mm, void (*fn)(void *arg),
				void *arg)
{
	struct task_struct *task;
	struct tp_thread *t;

	t = kzalloc_obj(*t, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, t);
	kref_init(&t->ref);
	init_completion(&t->done);
	t->fn = fn;
	t->arg = arg;
	t->mm = mm;
	if (mm)
		mmget(mm);
	kref_get(&t->ref);	/* the thread's reference */

	task = kthread_run(tp_thread_fn, t, "%s", name);
	if (IS_ERR(task)) {
		if (mm)
			mmput(mm);
		kfree(t);
		KUNIT_FAIL(test, "cannot start thread %s: %ld", name,
			   PTR_ERR(task));
		return NULL;
	}
	if (kunit_add_action_or_reset(test, tp_thread_put, t))
		return NULL;
	return t;
}

/* A tp_thread_run() function: vm_munmap() of a struct tp_unmap_args. */
void tp_unmap_fn(void *arg)
{
	struct tp_unmap_args *a = arg;

	vm_munmap(a->addr, a->len);
}

static void tp_gate_open(void *gate)
{
	complete_all(gate);
}

/*
 * A completion for a test to hold a thread (a notifier's finish, say) and
 * open when it wants; opened at the end of the test whatever happened, so
 * a failed test does not leave the thread blocked.
 */
struct completion *tp_gate(struct kunit *test)
{
	struct completion *gate = kunit_kzalloc(test, sizeof(*gate), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, gate);
	init_completion(gate);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tp_gate_open, gate),
			0);
	return gate;
}

/*
 * Detach the mm kunit_vm_mmap() attached to the test thread, at the end of
 * a test. In 6.12 a kthread that exits with an mm attached by
 * kthread_use_mm() leaves that mm's mm_count one too high, so every test
 * would leak its mm_struct (kmemleak in the leak profile shows it).
 * Detaching drops the thread's references; the test's own mmget() keeps
 * the mm until its cleanup has removed the notifiers.
 */
void tp_detach_mm(void)
{
	struct mm_struct *mm = current->mm;

	if (!mm)
		return;
	kthread_unuse_mm(mm);
	mmput(mm);
}

/* Wait up to @timeout_ms for @t to finish; true if it did. */
bool tp_thread_wait(struct tp_thread *t, unsigned int timeout_ms)
{
	return wait_for_completion_timeout(&t->done,
					   msecs_to_jiffies(timeout_ms)) != 0;
}
