/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A minimal client of drm_gpusvm, of the kind lib/test_hmm.c is for HMM,
 * shared by the drm_gpusvm_mirror suite and its benchmark: one device
 * mirroring an mm with a struct drm_gpusvm, ranges made by
 * drm_gpusvm_range_find_or_insert(), pages by drm_gpusvm_get_pages() and a
 * bind that commits them under the notifier lock, as xe_svm.c does. The
 * device has PTEs and a TLB whose invalidation completes tlb_latency_us
 * after it was sent, from an hrtimer.
 *
 * It invalidates as a driver must: zap the device's PTEs of every range in
 * the event, send a TLB invalidation, wait for it, then DMA-unmap the pages
 * and mark unmapped ranges. It does so from drm_gpusvm's single pass or,
 * where the tree's drm_gpusvm offers it (RIG_HAVE_GPUSVM_TWO_PASS: the RFC
 * of kernel-patches/rfc/), from two passes: the first zaps, sends and
 * revokes the pages, the finish waits and unmaps; a first pass that finds
 * its notifier's finish busy completes the invalidation itself, waiting
 * for the busy finish's TLB invalidation too.
 *
 * Every zap, TLB send, TLB completion and DMA unmap is an event in a log
 * the clients of a test share, which gst_unreachable_at() judges.
 */
#ifndef _DRM_GPUSVM_CLIENT_H
#define _DRM_GPUSVM_CLIENT_H

#include <drm/drm_gpusvm.h>
#include <linux/hrtimer.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>

struct drm_device;
struct kunit;
struct mm_struct;

#define GST_MAX_EVENTS	128

enum gst_mode { GST_SINGLE_PASS, GST_TWO_PASS };

enum gst_event_kind { GST_ZAP, GST_SENT, GST_DONE, GST_UNMAP };

/* One event: a zap or unmap of range @what, a TLB invalidation @flush. */
struct gst_event {
	enum gst_event_kind kind;
	unsigned int client;
	const void *what;
	u64 flush;
};

/* The event log of a test's clients. */
struct gst_log {
	spinlock_t lock;	/* the log and every client's TLB; taken from hrtimers */
	struct gst_event events[GST_MAX_EVENTS];
	unsigned int nr;	/* events logged; only the first GST_MAX_EVENTS kept */
};

/* A range of a client: drm_gpusvm's, the pages, the device's PTEs. */
struct gst_range {
	struct drm_gpusvm_range base;
	struct drm_gpusvm_pages pages;
	bool ptes_live;		/* device PTEs map it; under the notifier lock */
};

/* One device mirroring an mm. */
struct gst_client {
	struct drm_gpusvm gpusvm;
	struct mutex lock;	/* the driver lock: range lookup, insert, remove */
	struct drm_device *drm;
	struct gst_log *log;
	unsigned int index;
	/*
	 * The TLB: invalidations numbered from 1, completed in order by
	 * @tlb_timer, @tlb_latency_us after they were sent; under log->lock,
	 * waited for on @tlb_wq.
	 */
	unsigned int tlb_latency_us;
	struct hrtimer tlb_timer;
	u64 tlb_sent, tlb_done, tlb_armed;
	wait_queue_head_t tlb_wq;
	/* Under the notifier lock for write (the invalidate ops). */
	unsigned int invalidations;
	enum mmu_notifier_event last_event;
	unsigned long events_seen;	/* BIT(event) of every invalidation */
};

/* What gst_client_create() makes. */
struct gst_client_args {
	struct drm_device *drm;		/* the DMA device: gst_drm_device() */
	struct gst_log *log;
	enum gst_mode mode;
	unsigned int index;		/* the client's number in the log */
	unsigned int tlb_latency_us;
};

/*
 * Hook between drm_gpusvm_get_pages() and the commit of a bind: a case
 * runs an invalidation there to race the bind.
 */
typedef void (*gst_race_fn)(struct kunit *test, struct gst_range *r);

void gst_log_init(struct gst_log *log);
unsigned int gst_log_now(struct gst_log *log);
bool gst_unreachable_at(struct gst_log *log, struct gst_client *c,
			struct gst_range *r, unsigned int returned_at);

struct drm_device *gst_drm_device(struct kunit *test);
struct gst_client *gst_client_create(struct kunit *test, struct mm_struct *mm,
				     const struct gst_client_args *args);
void gst_client_destroy(struct kunit *test, struct gst_client *c);

struct gst_range *gst_range_in(struct kunit *test, struct gst_client *c,
			       unsigned long addr, unsigned long start,
			       unsigned long end);
void gst_range_remove(struct gst_client *c, struct gst_range *r);
void gst_tlb_complete_now(struct gst_client *c);
unsigned int gst_bind(struct kunit *test, struct gst_client *c,
		      struct gst_range *r, gst_race_fn race);

#endif /* _DRM_GPUSVM_CLIENT_H */
