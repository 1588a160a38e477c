/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fake-gpu internals shared by the device, VM and userptr files.
 *
 * Locking, outermost first:
 *   vm->lock (mutex)            serializes binds and destruction of a VM's
 *                               userptrs, like xe's vm->lock
 *   mmap_lock                   taken by bind for hmm_range_fault()
 *   vm->notifier_lock (rwsem)   write in the notifier, read in bind and
 *                               GPU reads; nests inside fs_reclaim
 *   vm->repin_lock (spinlock)   the repin list
 *   dev->fence_lock (spinlock)  the TLB invalidation fences and the
 *                               pending list; taken in the TLB's hrtimer
 *                               callback (irq): irqs off everywhere
 *   dev->tlb_lock (spinlock)    TLB fills, lookups and clears; nests
 *                               inside fence_lock, irqs off everywhere
 */
#ifndef _FAKE_GPU_INTERNAL_H
#define _FAKE_GPU_INTERNAL_H

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/hashtable.h>
#include <linux/hrtimer.h>
#include <linux/jump_label.h>
#include <linux/kref.h>
#include <linux/mempool.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "fake_gpu.h"
#include "fake_gpu_testing.h"
#include "rig_compat.h"

#define FAKE_GPU_TLB_ENTRIES	64
/* Buckets of the TLB's lookup index: 128, twice the entries. */
#define FAKE_GPU_TLB_HASH_BITS	7
static_assert(BIT(FAKE_GPU_TLB_HASH_BITS) == 2 * FAKE_GPU_TLB_ENTRIES);
#define FAKE_GPU_FINISH_POOL	4	/* finishes a pool VM keeps in reserve */

struct dentry;

/* One cached translation: (asid, virtual page) -> pfn. */
struct fake_gpu_tlb_entry {
	struct hlist_node hash;		/* in the device's tlb_hash while valid */
	u32 asid;
	bool valid;
	unsigned long va;
	unsigned long pfn;
};

struct fake_gpu_dev {
	unsigned int index;
	u32 latency_us;
	u32 jitter_us;
	unsigned long test_flags;
	struct workqueue_struct *job_wq;	/* the rings of the VMs' queues */
	struct workqueue_struct *inval_wq;	/* overlapped submissions */
	u64 fence_context;
	/* Under @fence_lock: */
	u64 fence_seqno;		/* last one handed out */
	struct list_head tlb_pending;	/* invalidations, submission order */
	spinlock_t fence_lock;		/* the TLB invalidation fences' lock */
	/* Armed while @tlb_pending is not empty, for its first deadline. */
	struct hrtimer tlb_timer;
	wait_queue_head_t tlb_idle;	/* woken when @tlb_pending empties */
	wait_queue_head_t tlb_submitted;	/* woken when an invalidation is queued */

	/* @tlb, @tlb_next and @tlb_hash; held by GPU accesses */
	spinlock_t tlb_lock;
	atomic_t stale_reported;	/* the oracle has reported a stale access */
	unsigned int tlb_next;		/* the entry a fill replaces: FIFO */
	struct fake_gpu_tlb_entry tlb[FAKE_GPU_TLB_ENTRIES];
	/*
	 * The valid entries of @tlb by (asid, va), so that an access looks at
	 * one chain, not at every entry: 64 GPUs touching 64 pages each at a
	 * job's start and end cost 2 x 64^3 compares on the one UML CPU.
	 * Which translations the TLB holds, and which one a fill evicts, is
	 * decided by @tlb and @tlb_next alone; a lookup finds what the index
	 * holds, which fake_gpu_tlb_check() checks is every valid entry.
	 */
	DECLARE_HASHTABLE(tlb_hash, FAKE_GPU_TLB_HASH_BITS);

	struct dentry *debugfs;
	atomic64_t stats[FAKE_GPU_NR_STATS];	/* by enum fake_gpu_stat */
};

/**
 * struct fake_gpu_finish - a two-pass invalidation between its passes
 * @base: what the core hands to invalidate_finish()
 * @tlb_inval_submitted: the TLB invalidation is submitted
 * @tlb_fence: that invalidation, for the finish to wait for
 * @overlap: the overlapped flow: @jobs_cb, @submit_work and @submitted
 *           are in use, and @submitted must be waited for
 * @uptr: the userptr, for @submit_work (@base.notifier is set by the core
 *        after the first pass, which the work may not wait for)
 * @jobs_cb: on the first VM job fence found pending
 * @submit_work: queued by @jobs_cb on the device's inval_wq
 * @submitted: completed once @tlb_inval_submitted is set
 *
 * Embedded in each userptr (one invalidation at a time, finish_inuse) or,
 * for FAKE_GPU_VM_FINISH_POOL VMs, taken from the VM's mempool per
 * invalidation. @tlb_inval_submitted and @tlb_fence are written under the
 * VM's notifier lock; the rest is set by the first pass before the
 * callback is armed, and read by the callback and the work.
 */
struct fake_gpu_finish {
	struct mmu_interval_notifier_finish base;
	bool tlb_inval_submitted;
	struct dma_fence *tlb_fence;
	bool overlap;
	struct fake_gpu_userptr *uptr;
	struct dma_fence_cb jobs_cb;
	struct work_struct submit_work;
	struct completion submitted;
};

struct fake_gpu_vm {
	struct fake_gpu_dev *dev;
	struct mm_struct *mm;
	u32 asid;
	enum fake_gpu_mode mode;
	unsigned int flags;
	struct mutex lock;		/* @userptrs; serialises binds and destroys */
	/* @userptrs is an RCU list: jobs walk it without a lock. */
	struct rw_semaphore notifier_lock;
	struct dma_resv resv;		/* the fences of the queues' jobs */
	struct list_head queues;	/* under @lock */
	struct fake_gpu_queue *queue;	/* fake_gpu_vm_submit_job()'s */
	spinlock_t repin_lock;		/* @repin_list */
	struct list_head repin_list;
	struct list_head userptrs;
	mempool_t *finish_pool;		/* FAKE_GPU_VM_FINISH_POOL VMs only */
};

struct fake_gpu_userptr {
	struct mmu_interval_notifier notifier;
	struct fake_gpu_vm *vm;
	unsigned long start;
	unsigned long npages;
	/*
	 * GPU PTEs: hmm pfns, valid while @bound. Written under notifier_lock
	 * (write); read by jobs under tlb_lock only, as hardware reads them.
	 */
	unsigned long *pfns;
	bool bound;
	bool ever_bound;		/* the TLB may cache its translations */
	bool destroyed;
	unsigned long notifier_seq;	/* the sequence the PTEs are valid for */
	struct list_head repin_link;	/* on vm->repin_list, under repin_lock */
	struct list_head vm_link;	/* on vm->userptrs, RCU; under vm->lock */
	struct rcu_head rcu;
	/* The embedded two-pass state, under notifier_lock (write). */
	struct fake_gpu_finish finish;
	bool finish_inuse;
};

/**
 * struct fake_gpu_queue - an exec queue: one fence timeline (fake_gpu_queue.c)
 * @ref: the VM's reference, and one per job fence
 * @vm: the VM, which outlives the queue's jobs
 * @vm_link: on vm->queues, under vm->lock
 * @context: the dma_fence context of the queue's jobs
 * @seqno: the last seqno handed out, under vm->resv
 * @lock: the jobs' fence lock; protects @waiting and @runnable
 * @waiting: preempt-style jobs not asked to stop yet, in seqno order
 * @runnable: jobs for the ring, in seqno order
 * @ring: runs the runnable jobs one at a time, on the device's job_wq
 */
struct fake_gpu_queue {
	struct kref ref;
	struct fake_gpu_vm *vm;
	struct list_head vm_link;
	u64 context;
	u64 seqno;
	spinlock_t lock;	/* the jobs' fence lock; @waiting, @runnable */
	struct list_head waiting;
	struct list_head runnable;
	struct work_struct ring;
	/*
	 * When its latest job ends (set as the job starts). Only the ring
	 * reads and writes it: a work item never runs concurrently with
	 * itself.
	 */
	ktime_t busy_until;
};

extern atomic64_t fake_gpu_pass_seq;

/* fake_gpu_canary.c: deliberate bugs, off unless fake_gpu.canary=NAME */
enum fake_gpu_canary {
	FAKE_GPU_CANARY_NONE,
	/* GFP_KERNEL allocation under notifier_lock in invalidate_start */
	FAKE_GPU_CANARY_LOCKDEP,
	/* invalidate_finish reads its pool finish after freeing it */
	FAKE_GPU_CANARY_KASAN,
	/* a first pass sleeps before refusing a non-blockable range */
	FAKE_GPU_CANARY_SLEEP,
	/* TLB invalidation fences never signal */
	FAKE_GPU_CANARY_HANG,
	/* the notifier takes the VM's dma_resv lock */
	FAKE_GPU_CANARY_RESV,
	/* exec publishes a job's fence without repin and invalidation check */
	FAKE_GPU_CANARY_EXEC,
	/* the waiter of a TLB invalidation leaks its fence reference */
	FAKE_GPU_CANARY_LEAK,
	/* every GPU access counted in one plain counter (a data race) */
	FAKE_GPU_CANARY_RACE,
	/* the oracle's TLB scan reads one entry past the TLB's end */
	FAKE_GPU_CANARY_UBSAN,
	/* a pool finish reaches invalidate_finish with its flags unset */
	FAKE_GPU_CANARY_KMSAN,
};

extern enum fake_gpu_canary fake_gpu_canary_on;
DECLARE_STATIC_KEY_FALSE(fake_gpu_canary_armed);
void fake_gpu_canary_race(void);

/*
 * Whether canary @c is on. The canaries sit in hot paths (every GPU
 * access); without fake_gpu.canary= the static key is off, and with jump
 * labels (x86_64) the test is a no-op in the code. UML has no jump labels:
 * there it is one read of the key.
 */
static inline bool fake_gpu_canary(enum fake_gpu_canary c)
{
	return static_branch_unlikely(&fake_gpu_canary_armed) &&
	       READ_ONCE(fake_gpu_canary_on) == c;
}

/* fake_gpu_tlb.c */
struct dma_fence *fake_gpu_tlb_inval_submit(struct fake_gpu_dev *dev, u32 asid,
					    unsigned long start,
					    unsigned long end);
void fake_gpu_tlb_inval_wait(struct fake_gpu_dev *dev, struct dma_fence *fence);
void fake_gpu_tlb_fill_locked(struct fake_gpu_dev *dev, u32 asid,
			      unsigned long va, unsigned long pfn);
bool fake_gpu_tlb_lookup_locked(struct fake_gpu_dev *dev, u32 asid,
				unsigned long va, unsigned long *pfn);
int fake_gpu_tlb_check(struct fake_gpu_dev *dev, u32 asid, unsigned long va,
		       bool mapped, unsigned long pfn);
void fake_gpu_sleep_until(ktime_t deadline);
void fake_gpu_tlb_init(struct fake_gpu_dev *dev);
void fake_gpu_tlb_flush(struct fake_gpu_dev *dev);
bool fake_gpu_tlb_busy(struct fake_gpu_dev *dev);
void fake_gpu_tlb_fini(struct fake_gpu_dev *dev);

/* fake_gpu_access.c */
void fake_gpu_job_access(struct fake_gpu_vm *vm, unsigned long pass, bool edge);
bool fake_gpu_userptr_valid(struct fake_gpu_userptr *uptr);

/* fake_gpu_userptr.c */
void fake_gpu_userptr_gpu_off(struct fake_gpu_userptr *uptr);
int fake_gpu_vm_repin(struct fake_gpu_vm *vm);

/* fake_gpu_queue.c */
void fake_gpu_queue_destroy(struct fake_gpu_queue *q);

/* fake_gpu_vm.c */
void fake_gpu_vm_wait_jobs(struct fake_gpu_vm *vm);
bool fake_gpu_vm_jobs_done(struct fake_gpu_vm *vm);
struct fake_gpu_finish *fake_gpu_pool_get(struct fake_gpu_vm *vm);
void fake_gpu_pool_put(struct fake_gpu_vm *vm, struct fake_gpu_finish *f);

/* fake_gpu_notifier.c */
extern const struct mmu_interval_notifier_ops fake_gpu_single_pass_ops;
extern const struct mmu_interval_notifier_ops fake_gpu_two_pass_ops;

#endif /* _FAKE_GPU_INTERNAL_H */
