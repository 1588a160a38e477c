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
 * struct fake_gpu_stats - a snapshot of a device's counters
 * @inval_submitted: TLB invalidations submitted to the device
 * @inval_completed: TLB invalidations whose fence has signalled
 * @deferred_jobs: two-pass starts that left waiting for jobs and the TLB
 *                 invalidation to the finish (jobs still pending)
 * @deferred_tlb: two-pass starts that submitted the TLB invalidation and
 *                left waiting for it to the finish (fault mode, jobs done)
 * @deferred_overlap: two-pass starts that armed the submission of the TLB
 *                    invalidation on the pending jobs' fences
 *                    (FAKE_GPU_VM_TLB_OVERLAP)
 * @sync_busy: two-pass starts that did everything synchronously because
 *             the embedded finish was in use
 * @sync_idle: two-pass starts that did everything synchronously because
 *             there was nothing to overlap (no fault mode, jobs done)
 * @sync_no_finish: two-pass starts that did everything synchronously
 *                  because no finish structure could be allocated
 * @sync_no_fence: TLB invalidations done inline because their fence could
 *                 not be allocated
 * @single_pass: single-pass invalidate() calls
 * @nonblock_refused: first passes that refused a non-blockable range
 * @finishes: second passes run
 * @gpu_faults: GPU reads that found no valid translation
 * @stale_detected: translations the oracle found pointing at a page the CPU
 *                  mm does not map at that address
 * @stale_access: GPU accesses, by jobs or reads, to a page no page table
 *                maps any more
 * @last_start_seq: global sequence number of the device's last first pass
 * @last_finish_seq: global sequence number of the device's last finish
 */
struct fake_gpu_stats {
	u64 inval_submitted;
	u64 inval_completed;
	u64 deferred_jobs;
	u64 deferred_tlb;
	u64 deferred_overlap;
	u64 sync_busy;
	u64 sync_idle;
	u64 sync_no_finish;
	u64 sync_no_fence;
	u64 single_pass;
	u64 nonblock_refused;
	u64 finishes;
	u64 gpu_faults;
	u64 stale_detected;
	u64 stale_access;
	u64 last_start_seq;
	u64 last_finish_seq;
};

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
