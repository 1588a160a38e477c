/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Helpers shared by the fake-gpu KUnit suites: devices, VMs and userptrs
 * that are torn down when the test ends, and user memory with a pattern
 * the GPU reads back.
 */
#ifndef _FAKE_GPU_TEST_COMMON_H
#define _FAKE_GPU_TEST_COMMON_H

#include <linux/types.h>

#include "fake_gpu.h"

struct kunit;

/* One word per page, at offset 0: identifies the page and its mapping. */
static inline u64 fgt_pattern(u32 salt, unsigned long page)
{
	return ((u64)salt << 32) | page;
}

struct fake_gpu_dev **fgt_devs(struct kunit *test, unsigned int count,
			       u32 latency_us, u32 jitter_us);
struct fake_gpu_vm *fgt_vm(struct kunit *test, struct fake_gpu_dev *dev,
			   enum fake_gpu_mode mode, unsigned int flags);
void fgt_release_devs(struct kunit *test, struct fake_gpu_dev **devs);
void fgt_release_vm(struct kunit *test, struct fake_gpu_vm *vm);
struct fake_gpu_userptr *fgt_userptr(struct kunit *test, struct fake_gpu_vm *vm,
				     unsigned long addr, unsigned long pages);
unsigned long fgt_map(struct kunit *test, unsigned long addr,
		      unsigned long pages, u32 salt);
void fgt_write_pattern(struct kunit *test, unsigned long addr,
		       unsigned long pages, u32 salt);
void fgt_remap_page(struct kunit *test, unsigned long base, unsigned long page,
		    u32 salt);
void fgt_expect_reads(struct kunit *test, struct fake_gpu_userptr *uptr,
		      unsigned long pages, u32 salt);
void fgt_expect_faults(struct kunit *test, struct fake_gpu_userptr *uptr,
		       unsigned long pages);

#endif /* _FAKE_GPU_TEST_COMMON_H */
