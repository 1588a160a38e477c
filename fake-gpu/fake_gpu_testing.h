/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * fake-gpu hooks for its KUnit suites only: misbehaviour to prove that the
 * tests see it, and waits that replace sleeping in tests.
 */
#ifndef _FAKE_GPU_TESTING_H
#define _FAKE_GPU_TESTING_H

#include <linux/fault-inject.h>

#include "fake_gpu.h"

/* Test-only switches, off in normal operation. */
/* The finish returns without waiting for its TLB invalidation (unsafe). */
#define FAKE_GPU_TEST_SKIP_TLB_WAIT	BIT(0)

/*
 * Fails allocations from the finish mempool of FAKE_GPU_VM_FINISH_POOL VMs,
 * for tests of the synchronous fallback. Inert until configured.
 */
extern struct fault_attr fake_gpu_finish_fail;

void fake_gpu_dev_set_test_flags(struct fake_gpu_dev *dev, unsigned long flags);

/**
 * enum fake_gpu_window - the windows fake_gpu_race_window() marks
 * @FAKE_GPU_WINDOW_BIND: a bind faulted the range, has not installed it
 * @FAKE_GPU_WINDOW_ORACLE: the oracle took its CPU snapshot, has not
 *                          compared it yet
 */
enum fake_gpu_window {
	FAKE_GPU_WINDOW_BIND,
	FAKE_GPU_WINDOW_ORACLE,
};

void fake_gpu_race_window(struct fake_gpu_userptr *uptr,
			  enum fake_gpu_window window);
void fake_gpu_exec_window(struct fake_gpu_vm *vm, struct dma_fence *fence);
void fake_gpu_overlap_armed(struct fake_gpu_userptr *uptr);
void fake_gpu_dev_flush(struct fake_gpu_dev *dev);

#endif /* _FAKE_GPU_TESTING_H */
