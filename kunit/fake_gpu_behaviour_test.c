// SPDX-License-Identifier: GPL-2.0-only
/*
 * KUnit tests of the fake GPU on one device: bind, GPU reads, invalidation
 * by munmap, rebind; the three two-pass flows forced one by one and proven
 * by the device's counters; the oracle; bad arguments; allocation failure.
 */
#include <kunit/resource.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/dma-fence.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>

#include "debugfs_file.h"
#include "fake_gpu_internal.h"
#include "fake_gpu_test_common.h"
#include "fake_gpu_testing.h"
#include "rig_compat.h"
#include "two_pass_recorder.h"
#include "two_pass_thread.h"

#define FGT_PAGES	4
#define FGT_LATENCY_US	100

struct fgt_mode {
	const char *name;
	enum fake_gpu_mode mode;
	unsigned int flags;
};

static const struct fgt_mode fgt_modes[] = {
	{ "single-pass", FAKE_GPU_SINGLE_PASS, 0 },
	{ "single-pass-fault", FAKE_GPU_SINGLE_PASS, FAKE_GPU_VM_FAULT_MODE },
	{ "two-pass", FAKE_GPU_TWO_PASS, 0 },
	{ "two-pass-fault", FAKE_GPU_TWO_PASS, FAKE_GPU_VM_FAULT_MODE },
	{ "two-pass-fault-pool", FAKE_GPU_TWO_PASS,
	  FAKE_GPU_VM_FAULT_MODE | FAKE_GPU_VM_FINISH_POOL },
	{ "two-pass-fault-overlap", FAKE_GPU_TWO_PASS,
	  FAKE_GPU_VM_FAULT_MODE | FAKE_GPU_VM_TLB_OVERLAP },
	{ "two-pass-fault-pool-overlap", FAKE_GPU_TWO_PASS,
	  FAKE_GPU_VM_FAULT_MODE | FAKE_GPU_VM_FINISH_POOL |
	  FAKE_GPU_VM_TLB_OVERLAP },
};

static void fgt_mode_desc(const struct fgt_mode *m, char *desc)
{
	strscpy(desc, m->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(fgt_modes, fgt_modes, fgt_mode_desc);

/* Two-pass starts that did everything synchronously, for any reason. */
static u64 fgt_sync_starts(const struct fake_gpu_stats *st)
{
	return st->v[FAKE_GPU_STAT_SYNC_BUSY] + st->v[FAKE_GPU_STAT_SYNC_IDLE] +
	       st->v[FAKE_GPU_STAT_SYNC_NO_FINISH];
}

static struct fake_gpu_stats fgt_stats(struct fake_gpu_dev *dev)
{
	struct fake_gpu_stats st;

	fake_gpu_dev_stats(dev, &st);
	return st;
}

/* One device, a VM on it and a bound userptr of FGT_PAGES fresh pages. */
struct fgt_one {
	unsigned long addr;
	struct fake_gpu_dev *dev;
	struct fake_gpu_vm *vm;
	struct fake_gpu_userptr *uptr;
	struct dma_fence *fence;	/* a job's, if the test keeps one */
};

static void fgt_one_unbound(struct kunit *test, struct fgt_one *one,
			    enum fake_gpu_mode mode, unsigned int flags)
{
	one->addr = fgt_map(test, 0, FGT_PAGES, 1);
	one->dev = fgt_devs(test, 1, FGT_LATENCY_US, 0)[0];
	one->vm = fgt_vm(test, one->dev, mode, flags);
	one->uptr = fgt_userptr(test, one->vm, one->addr, FGT_PAGES);
}

static void fgt_one_bound(struct kunit *test, struct fgt_one *one,
			  enum fake_gpu_mode mode, unsigned int flags)
{
	fgt_one_unbound(test, one, mode, flags);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(one->uptr), 0);
}

/*
 * Bind, read, munmap, read again: the GPU faults instead of reading. Map
 * new pages at the same address and rebind: the new pages are read. Every
 * mode gives the same results.
 */
static void fgt_test_bind_read_unmap_rebind(struct kunit *test)
{
	const struct fgt_mode *m = test->param_value;
	struct fake_gpu_stats st;
	struct fgt_one one;

	fgt_one_unbound(test, &one, m->mode, m->flags);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(one.uptr), 0);
	fgt_expect_reads(test, one.uptr, FGT_PAGES, 1);

	KUNIT_ASSERT_EQ(test, vm_munmap(one.addr, FGT_PAGES << PAGE_SHIFT), 0);
	fgt_expect_faults(test, one.uptr, FGT_PAGES);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(one.uptr), 0);

	fgt_map(test, one.addr, FGT_PAGES, 2);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(one.uptr), 0);
	fgt_expect_reads(test, one.uptr, FGT_PAGES, 2);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(one.uptr), 0);

	st = fgt_stats(one.dev);
	KUNIT_EXPECT_GE(test, st.v[FAKE_GPU_STAT_INVAL_SUBMITTED], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED],
			st.v[FAKE_GPU_STAT_INVAL_SUBMITTED]);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_STALE_DETECTED], 0);
	if (m->mode == FAKE_GPU_SINGLE_PASS)
		KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_SINGLE_PASS], 1);
	else
		KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_SINGLE_PASS], 0);
	tp_detach_mm();
}

/*
 * Flow 1: jobs pending -> the finish waits for them and invalidates. The
 * job runs until preempted, so it is pending at munmap however slow the
 * machine is.
 */
static void fgt_test_flow_jobs_pending(struct kunit *test)
{
	struct fgt_one one;
	struct dma_fence *job;
	struct fake_gpu_stats st;

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS,
		      FAKE_GPU_VM_FAULT_MODE | FAKE_GPU_VM_PREEMPT_JOBS);
	fgt_expect_reads(test, one.uptr, FGT_PAGES, 1);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 2000, &job), 0);

	KUNIT_ASSERT_EQ(test, vm_munmap(one.addr, FGT_PAGES << PAGE_SHIFT), 0);
	KUNIT_EXPECT_TRUE_MSG(test, dma_fence_is_signaled(job),
			      "munmap returned before the GPU job finished");
	dma_fence_put(job);

	st = fgt_stats(one.dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_DEFERRED_JOBS], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_DEFERRED_TLB], 0);
	KUNIT_EXPECT_EQ(test, fgt_sync_starts(&st), 0);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED],
			st.v[FAKE_GPU_STAT_INVAL_SUBMITTED]);
	fgt_expect_faults(test, one.uptr, FGT_PAGES);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(one.uptr), 0);
	tp_detach_mm();
}

/*
 * A preempt-style job runs until the notifier asks for its preemption by
 * enabling signalling on its fence; munmap returns only once it stopped.
 */
static void fgt_test_preempt_job(struct kunit *test)
{
	struct fgt_one one;
	struct dma_fence *job;

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS, FAKE_GPU_VM_PREEMPT_JOBS);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 1000, &job), 0);
	/* Whatever the device was given has run: the job was not. */
	fake_gpu_dev_flush(one.dev);
	KUNIT_EXPECT_FALSE_MSG(test, dma_fence_is_signaled(job),
			       "the job ended without being preempted");

	KUNIT_ASSERT_EQ(test, vm_munmap(one.addr, FGT_PAGES << PAGE_SHIFT), 0);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(job));
	KUNIT_EXPECT_EQ(test, fgt_stats(one.dev).v[FAKE_GPU_STAT_DEFERRED_JOBS], 1);
	dma_fence_put(job);
	fgt_expect_faults(test, one.uptr, FGT_PAGES);
	tp_detach_mm();
}

/*
 * Jobs of a queue end in submission order, whatever their durations, as on
 * a GPU ring. dma_resv keeps only the newest fence of a fence context, so
 * an older job that could end after a newer one would not be waited for.
 */
static void fgt_test_queue_jobs_in_order(struct kunit *test)
{
	struct fake_gpu_dev *dev = fgt_devs(test, 1, FGT_LATENCY_US, 0)[0];
	struct fake_gpu_vm *vm;
	struct dma_fence *slow, *quick;

	fgt_map(test, 0, 1, 1);		/* the VM mirrors this thread's mm */
	vm = fgt_vm(test, dev, FAKE_GPU_TWO_PASS, 0);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(vm, 100000, &slow), 0);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(vm, 10, &quick), 0);
	KUNIT_EXPECT_EQ(test, slow->context, quick->context);
	KUNIT_EXPECT_LT(test, slow->seqno, quick->seqno);

	dma_fence_wait(quick, false);
	KUNIT_EXPECT_TRUE_MSG(test, dma_fence_is_signaled(slow),
			      "a later job of the queue ended before an earlier one");
	dma_fence_put(quick);
	dma_fence_put(slow);
	tp_detach_mm();
}

/*
 * Preempt-style jobs: munmap waits for a job that a quicker, later job of
 * its queue replaced in the VM's dma_resv. The notifier preempts through
 * the newest fence, and the queue stops every job before it first.
 */
static void fgt_test_preempt_earlier_job_waited(struct kunit *test)
{
	struct fgt_one one;
	struct dma_fence *first, *second;

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS,
		      FAKE_GPU_VM_FAULT_MODE | FAKE_GPU_VM_PREEMPT_JOBS);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 5000, &first), 0);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 10, &second), 0);

	KUNIT_ASSERT_EQ(test, vm_munmap(one.addr, FGT_PAGES << PAGE_SHIFT), 0);
	KUNIT_EXPECT_TRUE_MSG(test, dma_fence_is_signaled(first),
			      "munmap returned while an earlier job of the queue ran");
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(second));
	KUNIT_EXPECT_EQ(test, fgt_stats(one.dev).v[FAKE_GPU_STAT_DEFERRED_JOBS], 1);
	dma_fence_put(second);
	dma_fence_put(first);
	tp_detach_mm();
}

/*
 * Queues are timelines of their own: distinct fence contexts, all in the
 * VM's resv, so munmap waits for the jobs of every queue.
 */
static void fgt_test_queues_own_timelines(struct kunit *test)
{
	struct dma_fence *a, *b;
	struct fake_gpu_queue *q;
	struct fgt_one one;

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS, FAKE_GPU_VM_PREEMPT_JOBS);
	q = fake_gpu_queue_create(one.vm);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, q);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 3000, &a), 0);
	KUNIT_ASSERT_EQ(test, fake_gpu_queue_submit(q, 10, &b), 0);
	KUNIT_EXPECT_NE(test, a->context, b->context);

	KUNIT_ASSERT_EQ(test, vm_munmap(one.addr, FGT_PAGES << PAGE_SHIFT), 0);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(a));
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(b));
	dma_fence_put(b);
	dma_fence_put(a);
	tp_detach_mm();
}

/*
 * In the exec window: run whatever the device has queued to its end, then
 * take a reference to the job's fence, as a waiter on the resv could.
 */
static void fgt_exec_window_run(struct fake_gpu_vm *vm, struct dma_fence *fence)
{
	struct kunit *test = kunit_get_current_test();
	struct fgt_one *one = test->priv;

	fake_gpu_dev_flush(one->dev);
	KUNIT_EXPECT_FALSE_MSG(test, dma_fence_is_signaled(fence),
			       "the job ran before its fence was in the resv");
	one->fence = dma_fence_get(fence);
}

/* In the exec window: what a waiter on the resv does, ask for preemption. */
static void fgt_exec_window_preempt(struct fake_gpu_vm *vm, struct dma_fence *fence)
{
	dma_fence_enable_signaling(fence);
}

/*
 * Exec publishes a job's fence in the resv before the job can run. The
 * submitter asks for no fence, so dma_fence_init()'s reference, which the
 * ring drops when the job ends, is the only one: with the device's queued
 * work run to its end in between, the job has not run, and the fence is
 * still alive for the resv and for a waiter.
 */
static void fgt_test_exec_publishes_before_run(struct kunit *test)
{
	struct fgt_one one = {};

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS, 0);
	test->priv = &one;
	kunit_activate_static_stub(test, fake_gpu_exec_window, fgt_exec_window_run);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 10, NULL), 0);
	kunit_deactivate_static_stub(test, fake_gpu_exec_window);
	KUNIT_ASSERT_NOT_NULL(test, one.fence);
	KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(one.fence, false, HZ), 0);
	dma_fence_put(one.fence);
	tp_detach_mm();
}

/*
 * A preemption asked for between the fence's publication and the job's
 * queueing (a waiter found the fence in the resv) is not lost: the job is
 * queued runnable and its fence signals.
 */
static void fgt_test_exec_preempted_before_queued(struct kunit *test)
{
	struct dma_fence *fence;
	struct fgt_one one;

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS, FAKE_GPU_VM_PREEMPT_JOBS);
	kunit_activate_static_stub(test, fake_gpu_exec_window, fgt_exec_window_preempt);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 10, &fence), 0);
	kunit_deactivate_static_stub(test, fake_gpu_exec_window);
	KUNIT_EXPECT_GT_MSG(test, dma_fence_wait_timeout(fence, false, HZ), 0,
			    "a job preempted before it was queued never stopped");
	dma_fence_put(fence);
	tp_detach_mm();
}

/*
 * What a test runs in a race window of the fake GPU (fake_gpu_race_window(),
 * a static stub): a new page at page 0 of the userptr, with the pattern of
 * @salt, and with @rebind the userptr bound to it.
 */
struct fgt_window {
	enum fake_gpu_window window;
	unsigned long addr;
	u32 salt;
	bool rebind;
	bool every_time;
	unsigned int fired;
};

static void fgt_window_remap(struct fake_gpu_userptr *uptr,
			     enum fake_gpu_window window)
{
	struct kunit *test = kunit_get_current_test();
	struct fgt_window *w = test->priv;

	if (window != w->window || (w->fired && !w->every_time))
		return;
	w->fired++;
	fgt_remap_page(test, w->addr, 0, w->salt);
	if (w->rebind)
		KUNIT_EXPECT_EQ(test, fake_gpu_userptr_bind(uptr), 0);
}

static struct fgt_window *fgt_window_arm(struct kunit *test,
					 enum fake_gpu_window window,
					 unsigned long addr, u32 salt, bool rebind)
{
	struct fgt_window *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, w);
	w->window = window;
	w->addr = addr;
	w->salt = salt;
	w->rebind = rebind;
	test->priv = w;
	kunit_activate_static_stub(test, fake_gpu_race_window, fgt_window_remap);
	return w;
}

/*
 * An invalidation between a bind's fault and its install: the bind must see
 * it with mmu_interval_read_retry() and fault again, in every mode. Needs the
 * notifier to have called mmu_interval_set_seq().
 */
static void fgt_test_bind_retries_after_invalidation(struct kunit *test)
{
	const struct fgt_mode *m = test->param_value;
	struct fgt_window *w;
	unsigned long i;
	u64 val;
	struct fgt_one one;

	fgt_one_unbound(test, &one, m->mode, m->flags);
	w = fgt_window_arm(test, FAKE_GPU_WINDOW_BIND, one.addr, 2, false);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(one.uptr), 0);
	kunit_deactivate_static_stub(test, fake_gpu_race_window);
	KUNIT_ASSERT_TRUE(test, w->fired);

	/* Compared by pfn first: a stale PTE reads a freed page. */
	KUNIT_ASSERT_EQ_MSG(test, fake_gpu_userptr_check(one.uptr), 0,
			    "the bind installed what it faulted before the invalidation");
	for (i = 0; i < FGT_PAGES; i++) {
		KUNIT_ASSERT_EQ(test, fake_gpu_read(one.uptr, i << PAGE_SHIFT, &val), 0);
		KUNIT_EXPECT_EQ_MSG(test, val, fgt_pattern(i ? 1 : 2, i), "page %lu", i);
	}
	tp_detach_mm();
}

/*
 * Invalidations that never stop colliding with a bind: it gives up with
 * -EAGAIN after HMM_RANGE_DEFAULT_TIMEOUT ms instead of looping forever,
 * and the userptr stays unbound.
 */
static void fgt_test_bind_gives_up(struct kunit *test)
{
	struct fgt_window *w;
	struct fgt_one one;
	u64 val;

	fgt_one_unbound(test, &one, FAKE_GPU_TWO_PASS, FAKE_GPU_VM_FAULT_MODE);
	w = fgt_window_arm(test, FAKE_GPU_WINDOW_BIND, one.addr, 2, false);
	w->every_time = true;
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_bind(one.uptr), -EAGAIN);
	kunit_deactivate_static_stub(test, fake_gpu_race_window);
	KUNIT_EXPECT_GT(test, w->fired, 1);
	KUNIT_EXPECT_EQ(test, fake_gpu_read(one.uptr, 0, &val), -EFAULT);
	tp_detach_mm();
}

/*
 * An invalidation and a rebind between the oracle's CPU snapshot and its
 * comparison: the oracle must take the snapshot again, not report the
 * rebound PTE as stale.
 */
static void fgt_test_oracle_retries_after_invalidation(struct kunit *test)
{
	struct fgt_window *w;
	struct fgt_one one;

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS, FAKE_GPU_VM_FAULT_MODE);
	w = fgt_window_arm(test, FAKE_GPU_WINDOW_ORACLE, one.addr, 2, true);
	KUNIT_EXPECT_EQ_MSG(test, fake_gpu_userptr_check(one.uptr), 0,
			    "the oracle compared with a snapshot older than the PTEs");
	kunit_deactivate_static_stub(test, fake_gpu_race_window);
	KUNIT_EXPECT_TRUE(test, w->fired);
	KUNIT_EXPECT_EQ(test, fgt_stats(one.dev).v[FAKE_GPU_STAT_STALE_DETECTED], 0);
	tp_detach_mm();
}

/*
 * A job touches its VM's memory until it stops. In non-fault mode nothing
 * but the notifier's wait for the job keeps it off the pages, as on xe: if
 * munmap returned before the job stopped, the job would read pages the CPU
 * gave back (the oracle's stale_access, then KASAN). In fault mode the zap
 * and the TLB flush stop it. The job runs until preempted, so it is running
 * at munmap.
 */
static void fgt_test_job_stops_before_pages_go(struct kunit *test)
{
	const struct fgt_mode *m = test->param_value;
	struct dma_fence *job;
	struct fgt_one one;

	fgt_one_bound(test, &one, m->mode, m->flags | FAKE_GPU_VM_PREEMPT_JOBS);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 3000, &job), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(one.addr, FGT_PAGES << PAGE_SHIFT), 0);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(job));
	dma_fence_put(job);
	fake_gpu_dev_flush(one.dev);
	KUNIT_EXPECT_EQ_MSG(test, fgt_stats(one.dev).v[FAKE_GPU_STAT_STALE_ACCESS], 0,
			    "a job touched pages munmap had given back");
	/* The job was pending: the overlapped flow ran, if the VM has it. */
	if (m->flags & FAKE_GPU_VM_TLB_OVERLAP)
		KUNIT_EXPECT_EQ(test, fgt_stats(one.dev).v[FAKE_GPU_STAT_DEFERRED_OVERLAP], 1);
	tp_detach_mm();
}

/*
 * Exec rebinds what an invalidation put on the repin list before the job
 * may run (non-fault mode keeps the old PTEs): the job touches the new
 * page, never the one the remap gave back, and the userptr is valid again.
 */
static void fgt_test_exec_rebinds_invalidated(struct kunit *test)
{
	struct dma_fence *job;
	struct fgt_one one;
	u64 faults, val;

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS, 0);
	fgt_remap_page(test, one.addr, 0, 2);
	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(one.vm, 1000, &job), 0);
	dma_fence_wait(job, false);
	dma_fence_put(job);
	KUNIT_EXPECT_EQ_MSG(test, fgt_stats(one.dev).v[FAKE_GPU_STAT_STALE_ACCESS], 0,
			    "the job ran on the PTEs of the page the remap gave back");

	faults = fgt_stats(one.dev).v[FAKE_GPU_STAT_GPU_FAULTS];
	KUNIT_EXPECT_EQ(test, fake_gpu_read(one.uptr, 0, &val), 0);
	KUNIT_EXPECT_EQ(test, val, fgt_pattern(2, 0));
	KUNIT_EXPECT_EQ(test, fgt_stats(one.dev).v[FAKE_GPU_STAT_GPU_FAULTS], faults);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(one.uptr), 0);
	tp_detach_mm();
}

/* Flow 2: jobs done, fault mode -> TLB invalidation submitted in start. */
static void fgt_test_flow_tlb_deferred(struct kunit *test)
{
	struct fgt_one one;
	struct fake_gpu_stats st;

	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS, FAKE_GPU_VM_FAULT_MODE);
	fgt_expect_reads(test, one.uptr, FGT_PAGES, 1);
	KUNIT_ASSERT_EQ(test, vm_munmap(one.addr, FGT_PAGES << PAGE_SHIFT), 0);

	st = fgt_stats(one.dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_DEFERRED_TLB], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_DEFERRED_JOBS], 0);
	KUNIT_EXPECT_EQ(test, fgt_sync_starts(&st), 0);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_SUBMITTED], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED], 1);
	fgt_expect_faults(test, one.uptr, FGT_PAGES);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(one.uptr), 0);
	tp_detach_mm();
}

/* A job fence of the VM that only the test signals: a bind in flight. */
struct fgt_held_fence {
	struct dma_fence base;		/* first: freed with dma_fence_free() */
	spinlock_t lock;
};

static const char *fgt_held_fence_name(struct dma_fence *fence)
{
	return "fgt-held";
}

static const struct dma_fence_ops fgt_held_fence_ops = {
	.get_driver_name = fgt_held_fence_name,
	.get_timeline_name = fgt_held_fence_name,
};

static void fgt_held_fence_release(void *fence)
{
	dma_fence_signal(fence);
	dma_fence_put(fence);
}

static struct dma_fence *fgt_held_fence(struct kunit *test, struct fake_gpu_vm *vm)
{
	struct fgt_held_fence *f = kzalloc_obj(*f, GFP_KERNEL);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, f);
	spin_lock_init(&f->lock);
	dma_fence_init(&f->base, &fgt_held_fence_ops, &f->lock,
		       dma_fence_context_alloc(1), 1);
	/* Signalled at the latest before the VM is released, which waits. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fgt_held_fence_release,
							&f->base), 0);
	dma_resv_lock(&vm->resv, NULL);
	ret = dma_resv_reserve_fences(&vm->resv, 1);
	if (!ret)
		dma_resv_add_fence(&vm->resv, &f->base, DMA_RESV_USAGE_BOOKKEEP);
	dma_resv_unlock(&vm->resv);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return &f->base;
}

/* The overlapped flow's test: what its helper thread does and saw. */
struct fgt_overlap {
	struct fake_gpu_dev *dev;
	struct dma_fence *first, *second;
	struct completion *armed;
	u64 submitted_before_second;
};

/* In the first pass, the notifier lock held: the callback is armed. */
static void fgt_overlap_armed(struct fake_gpu_userptr *uptr)
{
	struct fgt_overlap *o = kunit_get_current_test()->priv;

	complete(o->armed);
}

/*
 * The jobs end one after the other; in between, once the work of the first
 * one's callback has run, nothing may have been submitted.
 */
static void fgt_overlap_signaller(void *arg)
{
	struct fgt_overlap *o = arg;
	struct fake_gpu_stats st;

	wait_for_completion(o->armed);
	dma_fence_signal(o->first);
	fake_gpu_dev_flush(o->dev);
	fake_gpu_dev_stats(o->dev, &st);
	o->submitted_before_second = st.v[FAKE_GPU_STAT_INVAL_SUBMITTED];
	dma_fence_signal(o->second);
}

/*
 * Flow 4 (FAKE_GPU_VM_TLB_OVERLAP), jobs pending: the first pass arms the
 * submission on the jobs' fences, which submits only once the last of them
 * has signalled, as a bind still in flight would write the PTEs again; the
 * finish waits for that one submission and its TLB invalidation. Two
 * fences of two contexts, signalled in turn by a thread once the first
 * pass has armed its callback: the order is the test's, not the clock's.
 */
static void fgt_test_flow_tlb_overlap(struct kunit *test)
{
	struct fgt_overlap *o = kunit_kzalloc(test, sizeof(*o), GFP_KERNEL);
	struct fake_gpu_stats st;
	struct tp_thread *thread;
	struct fgt_one one;

	KUNIT_ASSERT_NOT_NULL(test, o);
	fgt_one_bound(test, &one, FAKE_GPU_TWO_PASS,
		      FAKE_GPU_VM_FAULT_MODE | FAKE_GPU_VM_TLB_OVERLAP);
	fgt_expect_reads(test, one.uptr, FGT_PAGES, 1);	/* fills the TLB */
	o->dev = one.dev;
	o->first = fgt_held_fence(test, one.vm);
	o->second = fgt_held_fence(test, one.vm);
	o->armed = tp_gate(test);
	test->priv = o;
	kunit_activate_static_stub(test, fake_gpu_overlap_armed, fgt_overlap_armed);
	thread = tp_thread_run(test, "fgt-signal", NULL, fgt_overlap_signaller, o);

	KUNIT_ASSERT_EQ(test, vm_munmap(one.addr, FGT_PAGES << PAGE_SHIFT), 0);
	kunit_deactivate_static_stub(test, fake_gpu_overlap_armed);
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(thread, 5000));
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(o->second));
	KUNIT_EXPECT_EQ_MSG(test, o->submitted_before_second, 0,
			    "TLB invalidation submitted while a job was pending");

	/* Whatever the device still had queued has run: one submission. */
	fake_gpu_dev_flush(one.dev);
	st = fgt_stats(one.dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_DEFERRED_OVERLAP], 1);
	KUNIT_EXPECT_EQ(test,
			st.v[FAKE_GPU_STAT_DEFERRED_JOBS] +
				st.v[FAKE_GPU_STAT_DEFERRED_TLB],
			0);
	KUNIT_EXPECT_EQ(test, fgt_sync_starts(&st), 0);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES], 1);
	KUNIT_EXPECT_EQ_MSG(test, st.v[FAKE_GPU_STAT_INVAL_SUBMITTED], 1,
			    "the finish invalidated besides the overlapped submission");
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED], 1);
	fgt_expect_faults(test, one.uptr, FGT_PAGES);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(one.uptr), 0);
	tp_detach_mm();
}

/*
 * Flow 3: the embedded finish is busy -> everything synchronous in start.
 *
 * A recording notifier below the userptr holds the walk of an munmap in
 * its finish, which runs first (finishes run in start order), so the
 * userptr's finish is handed out but not yet called. An rmap-style
 * invalidation of the userptr from this thread then finds it in use.
 */
static void fgt_test_flow_finish_busy(struct kunit *test)
{
	unsigned long addr = fgt_map(test, 0, FGT_PAGES, 1);
	struct fake_gpu_dev *dev = fgt_devs(test, 1, FGT_LATENCY_US, 0)[0];
	struct fake_gpu_vm *vm = fgt_vm(test, dev, FAKE_GPU_TWO_PASS,
					FAKE_GPU_VM_FAULT_MODE);
	struct fake_gpu_userptr *uptr;
	struct mmu_notifier_range range;
	struct tp_unmap_args *unmap;
	struct tp_thread *unmapper;
	struct completion *gate;
	struct tp_notifier *hold;
	struct fake_gpu_stats st;
	struct tp_log *log;

	uptr = fgt_userptr(test, vm, addr + PAGE_SIZE, FGT_PAGES - 1);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(uptr), 0);

	log = kunit_kzalloc(test, sizeof(*log), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, log);
	tp_log_init(log);
	gate = tp_gate(test);
	hold = tp_notifier_insert(test, log, 0, current->mm, addr, PAGE_SIZE,
				  &tp_two_pass_ops);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, hold);
	hold->finish_gate = gate;

	unmap = kunit_kzalloc(test, sizeof(*unmap), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, unmap);
	unmap->addr = addr;
	unmap->len = FGT_PAGES << PAGE_SHIFT;
	unmapper = tp_thread_run(test, "fgt-unmap", current->mm, tp_unmap_fn, unmap);
	KUNIT_ASSERT_NOT_NULL(test, unmapper);
	KUNIT_ASSERT_NE(test, wait_for_completion_timeout(&hold->finish_entered,
							  msecs_to_jiffies(5000)), 0);
	st = fgt_stats(dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_DEFERRED_TLB], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES], 0);

	mmu_notifier_range_init(&range, MMU_NOTIFY_CLEAR, 0, current->mm,
				addr + PAGE_SIZE, addr + 2 * PAGE_SIZE);
	mmu_notifier_invalidate_range_start(&range);
	mmu_notifier_invalidate_range_end(&range);
	st = fgt_stats(dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_SYNC_BUSY], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES], 0);

	complete_all(gate);
	KUNIT_EXPECT_TRUE(test, tp_thread_wait(unmapper, 5000));
	st = fgt_stats(dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED],
			st.v[FAKE_GPU_STAT_INVAL_SUBMITTED]);
	fgt_expect_faults(test, uptr, FGT_PAGES - 1);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(uptr), 0);
	tp_detach_mm();
}

/* A non-blockable range: the first pass refuses it and changes nothing. */
static void fgt_test_nonblock_refused(struct kunit *test)
{
	const struct fgt_mode *m = test->param_value;
	struct mmu_notifier_range range;
	struct fake_gpu_stats st;
	int ret;
	struct fgt_one one;

	fgt_one_unbound(test, &one, m->mode, m->flags);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(one.uptr), 0);
	mmu_notifier_range_init(&range, MMU_NOTIFY_UNMAP, 0, current->mm, one.addr,
				one.addr + (FGT_PAGES << PAGE_SHIFT));
	mmap_read_lock(current->mm);
	/*
	 * The core marks non-blockable hlist notifier calls with
	 * non_block_start(), but not its interval-tree walk: do it here, so
	 * DEBUG_ATOMIC_SLEEP reports a first pass that sleeps (the "sleep"
	 * canary).
	 */
	non_block_start();
	ret = mmu_notifier_invalidate_range_start_nonblock(&range);
	non_block_end();
	if (!ret)	/* a broken notifier accepted it: end it cleanly */
		mmu_notifier_invalidate_range_end(&range);
	mmap_read_unlock(current->mm);
	KUNIT_EXPECT_EQ(test, ret, -EAGAIN);

	st = fgt_stats(one.dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_NONBLOCK_REFUSED], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_SUBMITTED], 0);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES] + st.v[FAKE_GPU_STAT_SINGLE_PASS], 0);
	fgt_expect_reads(test, one.uptr, FGT_PAGES, 1);
	tp_detach_mm();
}

/* The oracle catches a finish that does not wait for its TLB invalidation. */
static void fgt_test_oracle_catches_skipped_tlb_wait(struct kunit *test)
{
	unsigned long addr = fgt_map(test, 0, FGT_PAGES, 1);
	struct fake_gpu_dev *dev = fgt_devs(test, 1, 50000, 0)[0];
	struct fake_gpu_vm *vm = fgt_vm(test, dev, FAKE_GPU_TWO_PASS,
					FAKE_GPU_VM_FAULT_MODE);
	struct fake_gpu_userptr *uptr = fgt_userptr(test, vm, addr, FGT_PAGES);
	struct fake_gpu_stats st;

	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(uptr), 0);
	fgt_expect_reads(test, uptr, FGT_PAGES, 1);	/* fills the TLB */

	fake_gpu_dev_set_test_flags(dev, FAKE_GPU_TEST_SKIP_TLB_WAIT);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, FGT_PAGES << PAGE_SHIFT), 0);
	/* Never read here: the TLB still points at the freed pages. */
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(uptr), FGT_PAGES);
	KUNIT_EXPECT_EQ(test, fgt_stats(dev).v[FAKE_GPU_STAT_STALE_DETECTED], FGT_PAGES);
	fake_gpu_dev_set_test_flags(dev, 0);

	/* Once the invalidation completes, the translations are gone. */
	fake_gpu_dev_flush(dev);
	st = fgt_stats(dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED],
			st.v[FAKE_GPU_STAT_INVAL_SUBMITTED]);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(uptr), 0);
	tp_detach_mm();
}

/* Records, when its fence signals, whether the one submitted before had. */
struct fgt_order_cb {
	struct dma_fence_cb cb;
	struct dma_fence *prev;
	bool prev_signalled;
};

/* Called with the device's fence_lock held: reads the flag, not the lock. */
static void fgt_order_cb_fn(struct dma_fence *fence, struct dma_fence_cb *cb)
{
	struct fgt_order_cb *o = container_of(cb, struct fgt_order_cb, cb);

	o->prev_signalled = !o->prev ||
			    test_bit(DMA_FENCE_FLAG_SIGNALED_BIT, &o->prev->flags);
}

#define FGT_ORDER_FENCES	8
#define FGT_ORDER_LATENCY_US	2000

/*
 * A device's TLB invalidations complete in submission order, as the fences
 * of one context must signal, though jitter gives a later one an earlier
 * deadline; and none completes before its latency has passed.
 */
static void fgt_test_tlb_inval_order_and_latency(struct kunit *test)
{
	struct fake_gpu_dev *dev = fgt_devs(test, 1, FGT_ORDER_LATENCY_US,
					    FGT_ORDER_LATENCY_US)[0];
	struct fgt_order_cb cb[FGT_ORDER_FENCES] = {};
	struct dma_fence *fence[FGT_ORDER_FENCES];
	ktime_t submitted[FGT_ORDER_FENCES];
	unsigned int i;
	int ret;

	for (i = 0; i < FGT_ORDER_FENCES; i++) {
		submitted[i] = ktime_get();
		fence[i] = fake_gpu_tlb_inval_submit(dev, 1, 0, PAGE_SIZE);
		KUNIT_ASSERT_NOT_NULL(test, fence[i]);
		cb[i].prev = i ? fence[i - 1] : NULL;
		ret = dma_fence_add_callback(fence[i], &cb[i].cb, fgt_order_cb_fn);
		/* Signalled already (this thread was preempted): look now. */
		if (ret == -ENOENT)
			fgt_order_cb_fn(fence[i], &cb[i].cb);
		else
			KUNIT_ASSERT_EQ(test, ret, 0);
	}
	for (i = 0; i < FGT_ORDER_FENCES; i++) {
		KUNIT_EXPECT_GT(test, dma_fence_wait_timeout(fence[i], false, 10 * HZ), 0);
		KUNIT_EXPECT_TRUE_MSG(test, cb[i].prev_signalled,
				      "invalidation %u completed before %u", i, i - 1);
		KUNIT_EXPECT_TRUE(test, test_bit(DMA_FENCE_FLAG_TIMESTAMP_BIT,
						 &fence[i]->flags));
		KUNIT_EXPECT_GE_MSG(test, ktime_us_delta(fence[i]->timestamp, submitted[i]),
				    FGT_ORDER_LATENCY_US,
				    "invalidation %u completed before its latency", i);
	}
	for (i = 0; i < FGT_ORDER_FENCES; i++)
		dma_fence_put(fence[i]);
}

/* @text has the line "@name @value". */
static void fgt_expect_line(struct kunit *test, const char *text, const char *name,
			    u64 value)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s %llu\n", name, value);
	const char *at = text;

	while ((at = strstr(at, line)) && at != text && at[-1] != '\n')
		at += n;
	KUNIT_EXPECT_NOT_NULL_MSG(test, at, "no line \"%s %llu\" in:\n%s", name,
				  value, text);
}

/*
 * The counters are readable from debugfs, fake_gpu/gpuN/stats, and agree
 * with the snapshot the tests use; fences name their driver and timeline.
 */
static void fgt_test_debugfs_stats_and_fence_names(struct kunit *test)
{
	unsigned long addr = fgt_map(test, 0, FGT_PAGES, 1);
	struct fake_gpu_dev *dev = fgt_devs(test, 1, FGT_LATENCY_US, 0)[0];
	struct fake_gpu_vm *vm = fgt_vm(test, dev, FAKE_GPU_TWO_PASS,
					FAKE_GPU_VM_FAULT_MODE);
	struct fake_gpu_userptr *uptr = fgt_userptr(test, vm, addr, FGT_PAGES);
	struct fake_gpu_stats st;
	struct dma_fence *job;
	struct vfsmount *mnt;
	char path[32], *text;
	struct file *file;
	int i;

	KUNIT_ASSERT_EQ(test, fake_gpu_vm_submit_job(vm, 10, &job), 0);
	KUNIT_EXPECT_STREQ(test, job->ops->get_driver_name(job), "fake-gpu");
	KUNIT_EXPECT_STREQ(test, job->ops->get_timeline_name(job), "job");
	dma_fence_put(job);

	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(uptr), 0);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, FGT_PAGES << PAGE_SHIFT), 0);
	st = fgt_stats(dev);

	snprintf(path, sizeof(path), "fake_gpu/gpu%u/stats", fake_gpu_dev_index(dev));
	file = kml_open_path(test, &mnt, path, O_RDONLY);
	KUNIT_ASSERT_NOT_NULL(test, file);
	text = kml_report(test, file);
	fput(file);
	mntput(mnt);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_SUBMITTED], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_DEFERRED_JOBS] +
			st.v[FAKE_GPU_STAT_DEFERRED_TLB], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES], 1);
	/* Every counter, on a line of its own, with the snapshot's value. */
	for (i = 0; i < FAKE_GPU_NR_STATS; i++) {
		KUNIT_ASSERT_NOT_NULL_MSG(test, fake_gpu_stat_names[i], "counter %d", i);
		fgt_expect_line(test, text, fake_gpu_stat_names[i], st.v[i]);
	}
	kvfree(text);
	tp_detach_mm();
}

/* Bad arguments fail with -EINVAL or -EFAULT and change nothing. */
static void fgt_test_bad_arguments(struct kunit *test)
{
	unsigned long addr = fgt_map(test, 0, FGT_PAGES, 1);
	struct fake_gpu_dev *devs[1];
	struct fake_gpu_dev *dev = fgt_devs(test, 1, FGT_LATENCY_US, 0)[0];
	struct fake_gpu_vm *vm = fgt_vm(test, dev, FAKE_GPU_TWO_PASS, 0);
	unsigned long len = FGT_PAGES << PAGE_SHIFT;
	struct fake_gpu_userptr *uptr;
	struct fake_gpu_stats st;
	u64 val;

	KUNIT_EXPECT_EQ(test, fake_gpu_devs_create(0, 1, 0, devs), -EINVAL);
	KUNIT_EXPECT_EQ(test, fake_gpu_devs_create(1, U32_MAX, 1, devs), -EINVAL);
	KUNIT_EXPECT_EQ(test, fake_gpu_devs_create(1, FAKE_GPU_MAX_LATENCY_US, 1,
						   devs), -EINVAL);
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_vm_create(dev, current->mm, 7, 0),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_vm_create(dev, current->mm,
						     FAKE_GPU_TWO_PASS, BIT(9)),
			    ERR_PTR(-EINVAL));
	/* Nothing to overlap without a second pass or a TLB invalidation. */
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_vm_create(dev, current->mm,
						     FAKE_GPU_SINGLE_PASS,
						     FAKE_GPU_VM_FAULT_MODE |
						     FAKE_GPU_VM_TLB_OVERLAP),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_vm_create(dev, current->mm,
						     FAKE_GPU_TWO_PASS,
						     FAKE_GPU_VM_TLB_OVERLAP),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_vm_submit_job(vm, FAKE_GPU_MAX_JOB_US + 1,
							 NULL) ? ERR_PTR(-EINVAL) : NULL,
			    ERR_PTR(-EINVAL));

	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_userptr_create(vm, addr, 0),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_userptr_create(vm, addr + 1, len),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_userptr_create(vm, addr, len - 1),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_userptr_create(vm, PAGE_MASK, len),
			    ERR_PTR(-EINVAL));
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_userptr_create(vm, addr, len + PAGE_SIZE),
			    ERR_PTR(-EFAULT));
	KUNIT_EXPECT_PTR_EQ(test, fake_gpu_userptr_create(vm, PAGE_SIZE, PAGE_SIZE),
			    ERR_PTR(-EFAULT));

	/* None of that changed anything: a good userptr still works. */
	uptr = fgt_userptr(test, vm, addr, FGT_PAGES);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(uptr), 0);
	fgt_expect_reads(test, uptr, FGT_PAGES, 1);
	KUNIT_EXPECT_EQ(test, fake_gpu_read(uptr, len, &val), -EINVAL);
	KUNIT_EXPECT_EQ(test, fake_gpu_read(uptr, 4, &val), -EINVAL);

	fake_gpu_userptr_destroy(uptr);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_bind(uptr), -EINVAL);
	KUNIT_EXPECT_EQ(test, fake_gpu_read(uptr, 0, &val), -EINVAL);
	st = fgt_stats(dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_GPU_FAULTS], 0);

	/*
	 * Freed at once (as /dev/fake_gpu does with a failed bind): off the
	 * VM's list, so the VM's destruction must not touch it (KASAN).
	 */
	uptr = fgt_userptr(test, vm, addr, FGT_PAGES);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(uptr), 0);
	fgt_expect_reads(test, uptr, FGT_PAGES, 1);
	fake_gpu_userptr_free(uptr);
	tp_detach_mm();
}

/* Undo fgt_fail_finishes(), even after a failed assertion. */
static void fgt_fail_finishes_off(void *unused)
{
	fake_gpu_finish_fail.probability = 0;
	atomic_set(&fake_gpu_finish_fail.times, 0);
}

/* Fail the next @times finish allocations from a pool. */
static void fgt_fail_finishes(struct kunit *test, int times)
{
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fgt_fail_finishes_off,
							NULL), 0);
	fake_gpu_finish_fail.probability = 100;
	fake_gpu_finish_fail.interval = 1;
	fake_gpu_finish_fail.verbose = 0;
	atomic_set(&fake_gpu_finish_fail.times, times);
}

/*
 * A VM that takes finishes from a GFP_NOWAIT pool falls back to the
 * synchronous flow when the allocation fails, and stays correct.
 */
static void fgt_test_pool_failure_falls_back(struct kunit *test)
{
	unsigned long addr = fgt_map(test, 0, 2 * FGT_PAGES, 1);
	struct fake_gpu_dev *dev = fgt_devs(test, 1, FGT_LATENCY_US, 0)[0];
	struct fake_gpu_vm *vm = fgt_vm(test, dev, FAKE_GPU_TWO_PASS,
					FAKE_GPU_VM_FAULT_MODE |
					FAKE_GPU_VM_FINISH_POOL);
	struct fake_gpu_userptr *a, *b;
	struct fake_gpu_stats st;

	a = fgt_userptr(test, vm, addr, FGT_PAGES);
	b = fgt_userptr(test, vm, addr + (FGT_PAGES << PAGE_SHIFT), FGT_PAGES);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(a), 0);
	KUNIT_ASSERT_EQ(test, fake_gpu_userptr_bind(b), 0);
	fgt_expect_reads(test, a, FGT_PAGES, 1);

	/* Fail the next pool allocation only: a's; b's succeeds. */
	fgt_fail_finishes(test, 1);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, 2 * FGT_PAGES << PAGE_SHIFT), 0);

	st = fgt_stats(dev);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_SYNC_NO_FINISH], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_DEFERRED_TLB], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_FINISHES], 1);
	KUNIT_EXPECT_EQ(test, st.v[FAKE_GPU_STAT_INVAL_COMPLETED],
			st.v[FAKE_GPU_STAT_INVAL_SUBMITTED]);
	fgt_expect_faults(test, a, FGT_PAGES);
	fgt_expect_faults(test, b, FGT_PAGES);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(a), 0);
	KUNIT_EXPECT_EQ(test, fake_gpu_userptr_check(b), 0);
	tp_detach_mm();
}

static struct kunit_case fgt_behaviour_cases[] = {
	KUNIT_CASE_PARAM(fgt_test_bind_read_unmap_rebind, fgt_modes_gen_params),
	KUNIT_CASE(fgt_test_flow_jobs_pending),
	KUNIT_CASE(fgt_test_preempt_job),
	KUNIT_CASE(fgt_test_queue_jobs_in_order),
	KUNIT_CASE(fgt_test_preempt_earlier_job_waited),
	KUNIT_CASE(fgt_test_queues_own_timelines),
	KUNIT_CASE(fgt_test_exec_publishes_before_run),
	KUNIT_CASE(fgt_test_exec_preempted_before_queued),
	KUNIT_CASE_PARAM(fgt_test_bind_retries_after_invalidation, fgt_modes_gen_params),
	KUNIT_CASE(fgt_test_oracle_retries_after_invalidation),
	KUNIT_CASE(fgt_test_bind_gives_up),
	KUNIT_CASE_PARAM(fgt_test_job_stops_before_pages_go, fgt_modes_gen_params),
	KUNIT_CASE(fgt_test_exec_rebinds_invalidated),
	KUNIT_CASE(fgt_test_flow_tlb_deferred),
	KUNIT_CASE(fgt_test_flow_tlb_overlap),
	KUNIT_CASE(fgt_test_flow_finish_busy),
	KUNIT_CASE_PARAM(fgt_test_nonblock_refused, fgt_modes_gen_params),
	KUNIT_CASE(fgt_test_oracle_catches_skipped_tlb_wait),
	KUNIT_CASE(fgt_test_tlb_inval_order_and_latency),
	KUNIT_CASE(fgt_test_debugfs_stats_and_fence_names),
	KUNIT_CASE(fgt_test_bad_arguments),
	KUNIT_CASE(fgt_test_pool_failure_falls_back),
	{}
};

static struct kunit_suite fgt_behaviour_suite = {
	.name = "fake_gpu",
	.test_cases = fgt_behaviour_cases,
};

kunit_test_suite(fgt_behaviour_suite);
