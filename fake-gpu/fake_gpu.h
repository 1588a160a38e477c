/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fake-gpu: a software GPU that mirrors process address spaces through
 * mmu_interval_notifiers, for testing the notifier core without hardware.
 *
 * A device has a TLB and an ordered workqueue that executes TLB
 * invalidations with a modelled latency, each signalling a real dma_fence.
 * A VM binds userptrs: page-aligned user ranges mirrored with
 * hmm_range_fault() into GPU PTEs (plain pfns, no page references). GPU
 * reads go through the TLB, else the PTEs, to the page's kernel mapping, so
 * a stale translation reads a freed page and KASAN reports it.
 *
 * The userptr notifier comes in two modes: single-pass (invalidate) and
 * two-pass (invalidate_start/invalidate_finish) with xe's three flows:
 * jobs pending -> the finish waits and invalidates; jobs done in fault
 * mode -> TLB invalidation submitted in start, waited for in finish;
 * embedded finish busy -> everything synchronous in start.
 */
#ifndef _FAKE_GPU_H
#define _FAKE_GPU_H

#include <linux/bits.h>
#include <linux/build_bug.h>
#include <linux/types.h>

struct dma_fence;
struct mm_struct;
struct fake_gpu_dev;
struct fake_gpu_vm;
struct fake_gpu_queue;
struct fake_gpu_userptr;

/* Upper bound of a device's TLB latency, fixed part plus jitter. */
#define FAKE_GPU_MAX_LATENCY_US		(10 * USEC_PER_SEC)
/* Upper bound of an emulated GPU job's duration. */
#define FAKE_GPU_MAX_JOB_US		(10 * USEC_PER_SEC)

/**
 * enum fake_gpu_mode - how a VM's userptrs are notified
 * @FAKE_GPU_SINGLE_PASS: &mmu_interval_notifier_ops.invalidate only
 * @FAKE_GPU_TWO_PASS: invalidate_start() and invalidate_finish()
 */
enum fake_gpu_mode {
	FAKE_GPU_SINGLE_PASS,
	FAKE_GPU_TWO_PASS,
};

/* VM creation flags */
/* GPU page faults are recoverable: TLB invalidation is needed on unmap. */
#define FAKE_GPU_VM_FAULT_MODE		BIT(0)
/*
 * Take finish structures from a small mempool (GFP_NOWAIT, with a reserve),
 * one per invalidation, instead of the one embedded in the userptr.
 */
#define FAKE_GPU_VM_FINISH_POOL		BIT(1)
/*
 * Jobs run until preempted: enabling signalling on a job's fence, as the
 * notifier does, asks the job's queue to stop it and every earlier job, as
 * xe's preempt fences do; each then takes its duration to stop.
 */
#define FAKE_GPU_VM_PREEMPT_JOBS	BIT(2)
/*
 * Two-pass fault mode only, beyond xe's flows: with jobs pending, the first
 * pass arms a callback on their fences that zaps and submits the TLB
 * invalidation once they have all signalled, instead of leaving both to
 * the finish; the finish waits for the submission, then for the TLB.
 */
#define FAKE_GPU_VM_TLB_OVERLAP		BIT(3)
#define FAKE_GPU_VM_FLAGS		(FAKE_GPU_VM_FAULT_MODE | \
					 FAKE_GPU_VM_FINISH_POOL | \
					 FAKE_GPU_VM_PREEMPT_JOBS | \
					 FAKE_GPU_VM_TLB_OVERLAP)

/**
 * enum fake_gpu_stat - a device's counters
 * @FAKE_GPU_STAT_INVAL_SUBMITTED: TLB invalidations submitted to the device
 * @FAKE_GPU_STAT_INVAL_COMPLETED: TLB invalidations whose fence has signalled
 * @FAKE_GPU_STAT_DEFERRED_JOBS: two-pass starts that left waiting for jobs and
 *	the TLB invalidation to the finish (jobs still pending)
 * @FAKE_GPU_STAT_DEFERRED_TLB: two-pass starts that submitted the TLB
 *	invalidation and left waiting for it to the finish (fault mode, jobs done)
 * @FAKE_GPU_STAT_DEFERRED_OVERLAP: two-pass starts that armed the submission
 *	of the TLB invalidation on the pending jobs' fences
 *	(FAKE_GPU_VM_TLB_OVERLAP)
 * @FAKE_GPU_STAT_SYNC_BUSY: two-pass starts that did everything synchronously
 *	because the embedded finish was in use
 * @FAKE_GPU_STAT_SYNC_IDLE: two-pass starts that did everything synchronously
 *	because there was nothing to overlap (no fault mode, jobs done)
 * @FAKE_GPU_STAT_SYNC_NO_FINISH: two-pass starts that did everything
 *	synchronously because no finish structure could be allocated
 * @FAKE_GPU_STAT_SYNC_NO_FENCE: TLB invalidations done inline because their
 *	fence could not be allocated
 * @FAKE_GPU_STAT_SINGLE_PASS: single-pass invalidate() calls
 * @FAKE_GPU_STAT_NONBLOCK_REFUSED: first passes that refused a non-blockable
 *	range
 * @FAKE_GPU_STAT_FINISHES: second passes run
 * @FAKE_GPU_STAT_GPU_FAULTS: GPU reads that found no valid translation
 * @FAKE_GPU_STAT_STALE_DETECTED: translations the oracle found pointing at a
 *	page the CPU mm does not map at that address
 * @FAKE_GPU_STAT_STALE_ACCESS: GPU accesses, by jobs or reads, to a page no
 *	page table maps any more
 * @FAKE_GPU_STAT_LAST_START_SEQ: global sequence number of the device's last
 *	first pass
 * @FAKE_GPU_STAT_LAST_FINISH_SEQ: global sequence number of the device's last
 *	finish
 * @FAKE_GPU_NR_STATS: the number of counters
 *
 * One list for everything that shows the counters: the snapshot, the
 * device's atomic counters, the debugfs file (fake_gpu_stat_names[]) and the
 * chardev's sum of first passes (FAKE_GPU_FIRST_PASS_STATS) are all indexed
 * by it, so none can miss a counter.
 */
enum fake_gpu_stat {
	FAKE_GPU_STAT_INVAL_SUBMITTED,
	FAKE_GPU_STAT_INVAL_COMPLETED,
	FAKE_GPU_STAT_DEFERRED_JOBS,
	FAKE_GPU_STAT_DEFERRED_TLB,
	FAKE_GPU_STAT_DEFERRED_OVERLAP,
	FAKE_GPU_STAT_SYNC_BUSY,
	FAKE_GPU_STAT_SYNC_IDLE,
	FAKE_GPU_STAT_SYNC_NO_FINISH,
	FAKE_GPU_STAT_SYNC_NO_FENCE,
	FAKE_GPU_STAT_SINGLE_PASS,
	FAKE_GPU_STAT_NONBLOCK_REFUSED,
	FAKE_GPU_STAT_FINISHES,
	FAKE_GPU_STAT_GPU_FAULTS,
	FAKE_GPU_STAT_STALE_DETECTED,
	FAKE_GPU_STAT_STALE_ACCESS,
	FAKE_GPU_STAT_LAST_START_SEQ,
	FAKE_GPU_STAT_LAST_FINISH_SEQ,
	FAKE_GPU_NR_STATS
};

static_assert(FAKE_GPU_NR_STATS <= 64, "FAKE_GPU_FIRST_PASS_STATS is a u64 mask");

/* The counters of notifier calls: single-pass invalidate() and first passes. */
#define FAKE_GPU_FIRST_PASS_STATS	(BIT_ULL(FAKE_GPU_STAT_DEFERRED_JOBS) | \
					 BIT_ULL(FAKE_GPU_STAT_DEFERRED_TLB) | \
					 BIT_ULL(FAKE_GPU_STAT_DEFERRED_OVERLAP) | \
					 BIT_ULL(FAKE_GPU_STAT_SYNC_BUSY) | \
					 BIT_ULL(FAKE_GPU_STAT_SYNC_IDLE) | \
					 BIT_ULL(FAKE_GPU_STAT_SYNC_NO_FINISH) | \
					 BIT_ULL(FAKE_GPU_STAT_SINGLE_PASS))

/**
 * struct fake_gpu_stats - a snapshot of a device's counters
 * @v: the value of each counter, indexed by enum fake_gpu_stat
 */
struct fake_gpu_stats {
	u64 v[FAKE_GPU_NR_STATS];
};

extern const char * const fake_gpu_stat_names[FAKE_GPU_NR_STATS];

int fake_gpu_devs_create(unsigned int count, u32 latency_us, u32 jitter_us,
			 struct fake_gpu_dev **devs);
void fake_gpu_devs_destroy(unsigned int count, struct fake_gpu_dev **devs);
void fake_gpu_dev_stats(struct fake_gpu_dev *dev, struct fake_gpu_stats *st);
unsigned int fake_gpu_dev_index(struct fake_gpu_dev *dev);

struct fake_gpu_vm *fake_gpu_vm_create(struct fake_gpu_dev *dev,
				       struct mm_struct *mm,
				       enum fake_gpu_mode mode,
				       unsigned int flags);
void fake_gpu_vm_destroy(struct fake_gpu_vm *vm);
int fake_gpu_vm_submit_job(struct fake_gpu_vm *vm, u32 duration_us,
			   struct dma_fence **fence);
struct fake_gpu_queue *fake_gpu_queue_create(struct fake_gpu_vm *vm);
int fake_gpu_queue_submit(struct fake_gpu_queue *q, u32 duration_us,
			  struct dma_fence **fence);

struct fake_gpu_userptr *fake_gpu_userptr_create(struct fake_gpu_vm *vm,
						 unsigned long start,
						 unsigned long length);
int fake_gpu_userptr_bind(struct fake_gpu_userptr *uptr);
int fake_gpu_read(struct fake_gpu_userptr *uptr, unsigned long offset,
		  u64 *val);
int fake_gpu_userptr_check(struct fake_gpu_userptr *uptr);
void fake_gpu_userptr_destroy(struct fake_gpu_userptr *uptr);
void fake_gpu_userptr_free(struct fake_gpu_userptr *uptr);

#endif /* _FAKE_GPU_H */
