// SPDX-License-Identifier: GPL-2.0-only
/*
 * A recording mmu_interval_notifier for the two-pass core tests.
 *
 * The notifier behaves like a minimal driver: it takes its "user lock"
 * (the log's spinlock) to bump the interval sequence, hands out one
 * embedded finish at a time like xe's userptr does, and falls back to
 * doing everything in the first pass while that finish is in use.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/err.h>

#include "two_pass_recorder.h"

void tp_log_init(struct tp_log *log)
{
	spin_lock_init(&log->lock);
	log->count = 0;
	log->overflow = false;
}

static void tp_record(struct tp_notifier *n, enum tp_event_kind kind,
		      const struct mmu_notifier_range *range,
		      unsigned long cur_seq)
{
	struct tp_log *log = n->log;
	struct tp_event *ev;

	lockdep_assert_held(&log->lock);
	if (log->count == TP_MAX_EVENTS) {
		log->overflow = true;
		return;
	}
	ev = &log->events[log->count++];
	ev->kind = kind;
	ev->id = n->id;
	ev->event = range ? range->event : 0;
	ev->blockable = range ? mmu_notifier_range_blockable(range) : true;
	ev->cur_seq = cur_seq;
}

/* Number of @kind events of notifier @id, or of all notifiers if @id < 0. */
int tp_count(struct tp_log *log, enum tp_event_kind kind, int id)
{
	int i, n = 0;

	spin_lock(&log->lock);
	for (i = 0; i < log->count; i++)
		if (log->events[i].kind == kind &&
		    (id < 0 || log->events[i].id == id))
			n++;
	spin_unlock(&log->lock);
	return n;
}

/* Index of the first @kind event in the log, or INT_MAX if none. */
int tp_first(struct tp_log *log, enum tp_event_kind kind)
{
	int i, ret = INT_MAX;

	spin_lock(&log->lock);
	for (i = 0; i < log->count; i++) {
		if (log->events[i].kind == kind) {
			ret = i;
			break;
		}
	}
	spin_unlock(&log->lock);
	return ret;
}

/* Index of the last @kind event in the log, or -1 if none. */
int tp_last(struct tp_log *log, enum tp_event_kind kind)
{
	int i, ret = -1;

	spin_lock(&log->lock);
	for (i = 0; i < log->count; i++)
		if (log->events[i].kind == kind)
			ret = i;
	spin_unlock(&log->lock);
	return ret;
}

static bool tp_invalidate(struct mmu_interval_notifier *sub,
			  const struct mmu_notifier_range *range,
			  unsigned long cur_seq)
{
	struct tp_notifier *n = container_of(sub, struct tp_notifier, sub);

	if (n->refuse_nonblock && !mmu_notifier_range_blockable(range))
		return false;

	spin_lock(&n->log->lock);
	mmu_interval_set_seq(sub, cur_seq);
	tp_record(n, TP_INVALIDATE, range, cur_seq);
	spin_unlock(&n->log->lock);
	return true;
}

static bool tp_invalidate_start(struct mmu_interval_notifier *sub,
				const struct mmu_notifier_range *range,
				unsigned long cur_seq,
				struct mmu_interval_notifier_finish **finish)
{
	struct tp_notifier *n = container_of(sub, struct tp_notifier, sub);

	if (*finish)
		atomic_inc(&n->entry_not_null);

	spin_lock(&n->log->lock);
	if (n->refuse_nonblock && !mmu_notifier_range_blockable(range)) {
		tp_record(n, TP_START_REFUSED, range, cur_seq);
		spin_unlock(&n->log->lock);
		return false;
	}
	mmu_interval_set_seq(sub, cur_seq);
	if (n->defer && !n->finish_inuse) {
		n->finish_inuse = true;
		*finish = &n->finish;
		tp_record(n, TP_START_DEFERRED, range, cur_seq);
	} else {
		tp_record(n, TP_START_SYNC, range, cur_seq);
	}
	spin_unlock(&n->log->lock);
	return true;
}

static void tp_invalidate_finish(struct mmu_interval_notifier_finish *finish)
{
	struct tp_notifier *n = container_of(finish, struct tp_notifier, finish);

	if (finish->notifier != &n->sub)
		atomic_inc(&n->wrong_pointer);

	spin_lock(&n->log->lock);
	if (!n->finish_inuse)
		atomic_inc(&n->wrong_pointer);
	tp_record(n, TP_FINISH, NULL, 0);
	spin_unlock(&n->log->lock);

	if (n->finish_gate) {
		complete(&n->finish_entered);
		wait_for_completion(n->finish_gate);
	}

	spin_lock(&n->log->lock);
	n->finish_inuse = false;
	spin_unlock(&n->log->lock);
	atomic_inc(&n->finish_returned);
}

const struct mmu_interval_notifier_ops tp_single_pass_ops = {
	.invalidate = tp_invalidate,
};

const struct mmu_interval_notifier_ops tp_two_pass_ops = {
	.invalidate_start = tp_invalidate_start,
	.invalidate_finish = tp_invalidate_finish,
};

/* Both kinds of ops set: the core must use the two-pass ones only. */
const struct mmu_interval_notifier_ops tp_both_ops = {
	.invalidate = tp_invalidate,
	.invalidate_start = tp_invalidate_start,
	.invalidate_finish = tp_invalidate_finish,
};

/* Invalid ops: a first pass without a second one (never defers). */
const struct mmu_interval_notifier_ops tp_start_only_ops = {
	.invalidate_start = tp_invalidate_start,
};

static void tp_notifier_remove(void *data)
{
	struct tp_notifier *n = data;

	if (!n->removed)
		mmu_interval_notifier_remove(&n->sub);
}

/*
 * Insert a recording notifier over [@start, @start + @length) of @mm. It is
 * removed when the test ends, before its memory is freed, so a test that
 * fails half-way still leaves no notifier on its mm. Two-pass notifiers
 * defer by default.
 */
struct tp_notifier *tp_notifier_insert(struct kunit *test, struct tp_log *log,
				       int id, struct mm_struct *mm,
				       unsigned long start, unsigned long length,
				       const struct mmu_interval_notifier_ops *ops)
{
	struct tp_notifier *n;
	int ret;

	n = kunit_kzalloc(test, sizeof(*n), GFP_KERNEL);
	if (!n)
		return ERR_PTR(-ENOMEM);
	n->log = log;
	n->id = id;
	/* Only a notifier with a second pass may hand out a finish. */
	n->defer = ops->invalidate_start && ops->invalidate_finish;
	init_completion(&n->finish_entered);

	ret = mmu_interval_notifier_insert(&n->sub, mm, start, length, ops);
	if (ret)
		return ERR_PTR(ret);
	ret = kunit_add_action_or_reset(test, tp_notifier_remove, n);
	if (ret)
		return ERR_PTR(ret);
	return n;
}
