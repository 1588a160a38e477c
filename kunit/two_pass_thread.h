/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Kernel threads for the concurrency cases of the two-pass core tests: an
 * unmapper blocked in a second pass, a reader in mmu_interval_read_begin(),
 * a remover in mmu_interval_notifier_remove().
 */
#ifndef _TWO_PASS_THREAD_H
#define _TWO_PASS_THREAD_H

#include <linux/types.h>

struct kunit;
struct mm_struct;
struct tp_thread;

/* Arguments of tp_unmap_fn(): vm_munmap() from a thread. */
struct tp_unmap_args {
	unsigned long addr;
	unsigned long len;
};

void tp_unmap_fn(void *arg);
struct completion *tp_gate(struct kunit *test);
void tp_detach_mm(void);

struct tp_thread *tp_thread_run(struct kunit *test, const char *name,
				struct mm_struct *mm, void (*fn)(void *arg),
				void *arg);
bool tp_thread_wait(struct tp_thread *t, unsigned int timeout_ms);

#endif /* _TWO_PASS_THREAD_H */
