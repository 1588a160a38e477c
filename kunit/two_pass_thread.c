// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel threads for the two-pass core tests.
 *
 * A thread that works on the test's mm runs with it attached through
 * kthread_use_mm() and holds an mm_users reference, so vm_munmap() acts on
 * the test's address space. The thread state is reference counted, and
 * the test's cleanup reaps the thread: it opens the test's gates, which is
 * what a failed test leaves its threads blocked on, and waits for the
 * thread to return. So what a thread uses may be allocated with
 * kunit_kzalloc() before the thread starts, and is freed only after the
 * thread is gone; a test's stack is not (the test's kthread exits on a
 * failed assertion, and its stack with it).
 *
 * Threads are bound to the online CPUs in turn: on an SMP kernel (the smp
 * profile) a test's unmapper, readers and binders then really run at the
 * same time as each other, the test and the fake GPU's workers, instead
 * of wherever the scheduler happens to leave them.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/kref.h>
#include <linux/cpumask.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "rig_compat.h"
#include "two_pass_thread.h"

/* How long a test's cleanup waits for each of its threads. */
#define TP_REAP_MS	10000
/* Gates a test may have. */
#define TP_MAX_GATES	8

/* The gates of a test, a named KUnit resource: opened before reaping. */
struct tp_gates {
	struct kunit_resource res;
	struct completion *gate[TP_MAX_GATES];
	unsigned int count;
};

struct tp_thread {
	struct kref ref;
	struct kunit *test;
	const char *name;
	struct completion done;
	struct mm_struct *mm;
	void (*fn)(void *arg);
	void *arg;
};

static void tp_thread_release(struct kref *ref)
{
	kfree(container_of(ref, struct tp_thread, ref));
}

static void tp_thread_put(struct tp_thread *t)
{
	kref_put(&t->ref, tp_thread_release);
}

static struct tp_gates *tp_gates_find(struct kunit *test)
{
	struct kunit_resource *res = kunit_find_named_resource(test, "tp_gates");
	struct tp_gates *g = NULL;

	if (res) {
		g = res->data;
		kunit_put_resource(res);
	}
	return g;
}

/* The test's cleanup: open its gates, wait for the thread, drop it. */
static void tp_thread_reap(void *data)
{
	struct tp_thread *t = data;
	struct tp_gates *g = tp_gates_find(t->test);
	unsigned int i;

	for (i = 0; g && i < g->count; i++)
		complete_all(g->gate[i]);
	WARN(!wait_for_completion_timeout(&t->done, msecs_to_jiffies(TP_REAP_MS)),
	     "test thread %s still running after its test", t->name);
	tp_thread_put(t);
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
	/* Every waiter sees it: the test, then its cleanup. */
	complete_all(&t->done);
	tp_thread_put(t);
	return 0;
}

/* The next CPU in turn for a test thread (no CPU hotplug in the tests). */
static unsigned int tp_next_cpu(void)
{
	static atomic_t next = ATOMIC_INIT(0);
	unsigned int n = (unsigned int)atomic_inc_return(&next);

	return cpumask_nth(n % num_online_cpus(), cpu_online_mask);
}

/*
 * Run @fn(@arg) in a new kernel thread, with @mm attached if not NULL, bound
 * to the next online CPU in turn. Returns NULL (and fails the test) if the
 * thread cannot be created.
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
	t->test = test;
	t->name = name;
	init_completion(&t->done);
	t->fn = fn;
	t->arg = arg;
	t->mm = mm;
	if (mm)
		mmget(mm);
	kref_get(&t->ref);	/* the thread's reference */

	task = kthread_create(tp_thread_fn, t, "%s", name);
	if (IS_ERR(task)) {
		if (mm)
			mmput(mm);
		kfree(t);
		KUNIT_FAIL(test, "cannot start thread %s: %ld", name,
			   PTR_ERR(task));
		return NULL;
	}
	kthread_bind(task, tp_next_cpu());
	wake_up_process(task);
	if (kunit_add_action_or_reset(test, tp_thread_reap, t))
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
 * a failed test does not leave the thread blocked: before any thread of
 * the test is reaped, and again when the test's resources go.
 */
struct completion *tp_gate(struct kunit *test)
{
	struct completion *gate = kunit_kzalloc(test, sizeof(*gate), GFP_KERNEL);
	struct tp_gates *g = tp_gates_find(test);

	KUNIT_ASSERT_NOT_NULL(test, gate);
	init_completion(gate);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tp_gate_open, gate),
			0);
	if (!g) {
		g = kunit_kzalloc(test, sizeof(*g), GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, g);
		KUNIT_ASSERT_EQ(test, kunit_add_named_resource(test, NULL, NULL, &g->res,
							       "tp_gates", g), 0);
	}
	KUNIT_ASSERT_LT(test, g->count, TP_MAX_GATES);
	g->gate[g->count++] = gate;
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
