/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A recording mmu_interval_notifier for the two-pass core tests.
 *
 * Every call the core makes is appended to a log shared by all notifiers
 * of a test, so a test can check what ran, how often, with which
 * arguments and in which order.
 */
#ifndef _TWO_PASS_RECORDER_H
#define _TWO_PASS_RECORDER_H

#include <linux/completion.h>
#include <linux/mmu_notifier.h>
#include <linux/spinlock.h>

struct kunit;

enum tp_event_kind {
	TP_INVALIDATE,		/* single-pass invalidate() */
	TP_START_DEFERRED,	/* invalidate_start() that returned a finish */
	TP_START_SYNC,		/* invalidate_start() that returned NULL */
	TP_START_REFUSED,	/* invalidate_start() that returned false */
	TP_FINISH,		/* invalidate_finish() */
};

/**
 * struct tp_event - one call of the core into a recording notifier
 * @kind: which callback, and what it did
 * @id: the notifier's &tp_notifier.id
 * @event: the range's MMU_NOTIFY_* event
 * @blockable: whether the range was blockable
 * @cur_seq: the sequence number passed to the first pass
 */
struct tp_event {
	enum tp_event_kind kind;
	int id;
	enum mmu_notifier_event event;
	bool blockable;
	unsigned long cur_seq;
};

#define TP_MAX_EVENTS 128

/**
 * struct tp_log - the calls made into all notifiers of one test
 * @lock: protects @events and @count; a spinlock because first passes of
 *        non-blockable ranges must not sleep
 * @events: the calls, in the order they were made
 * @count: number of valid entries in @events
 * @overflow: set when a call did not fit in @events
 */
struct tp_log {
	spinlock_t lock;	/* @events, @count, @overflow */
	struct tp_event events[TP_MAX_EVENTS];
	int count;
	bool overflow;
};

/**
 * struct tp_notifier - a recording notifier under test
 * @sub: the interval notifier registered with the core
 * @finish: embedded finish handed out by invalidate_start()
 * @log: the test's shared log
 * @id: identifies the notifier in the log
 * @defer: invalidate_start() returns @finish when it is free
 * @refuse_nonblock: the first pass returns false on non-blockable ranges,
 *                   as a notifier that needs to sleep does
 * @finish_gate: if set, invalidate_finish() signals @finish_entered and
 *               waits for this completion before returning
 * @finish_entered: completed when a gated finish starts waiting
 * @finish_inuse: @finish is owned by the core (set in start, cleared at
 *                the end of finish), like xe's finish_inuse
 * @finish_returned: number of finishes that have completely returned
 * @removed: the test removes the notifier itself; skip the automatic removal
 * @entry_not_null: first passes that found *finish != NULL on entry
 * @wrong_pointer: finishes called with a pointer this notifier did not
 *                 hand out, or with &mmu_interval_notifier_finish.notifier
 *                 not pointing at @sub
 */
struct tp_notifier {
	struct mmu_interval_notifier sub;
	struct mmu_interval_notifier_finish finish;
	struct tp_log *log;
	int id;
	bool defer;
	bool refuse_nonblock;
	struct completion *finish_gate;
	struct completion finish_entered;
	bool finish_inuse;
	atomic_t finish_returned;
	bool removed;
	atomic_t entry_not_null;
	atomic_t wrong_pointer;
};

extern const struct mmu_interval_notifier_ops tp_single_pass_ops;
extern const struct mmu_interval_notifier_ops tp_two_pass_ops;
extern const struct mmu_interval_notifier_ops tp_both_ops;
extern const struct mmu_interval_notifier_ops tp_start_only_ops;

void tp_log_init(struct tp_log *log);
int tp_count(struct tp_log *log, enum tp_event_kind kind, int id);
int tp_first(struct tp_log *log, enum tp_event_kind kind);
int tp_last(struct tp_log *log, enum tp_event_kind kind);

struct tp_notifier *tp_notifier_insert(struct kunit *test, struct tp_log *log,
				       int id, struct mm_struct *mm,
				       unsigned long start, unsigned long length,
				       const struct mmu_interval_notifier_ops *ops);

#endif /* _TWO_PASS_RECORDER_H */
