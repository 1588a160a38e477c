/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rig's code is written for the upstream base (7.3). This header,
 * included by every file that needs it, keeps it building on the 6.12 base
 * where an interface changed in between; it is the only place that tests
 * the kernel version.
 */
#ifndef _RIG_COMPAT_H
#define _RIG_COMPAT_H

#include <linux/version.h>
#include <linux/module.h>
#include <linux/dma-fence.h>

#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 13, 0)
/* 6.13 made the namespace a string literal: MODULE_IMPORT_NS("NS"). */
#undef MODULE_IMPORT_NS
#define MODULE_IMPORT_NS(ns)	MODULE_INFO(import_ns, ns)
#endif

#if LINUX_VERSION_CODE < KERNEL_VERSION(7, 3, 0)
/* 7.3 renamed dma_fence_enable_sw_signaling() (7.2.12 still has it). */
#define dma_fence_enable_signaling(fence) dma_fence_enable_sw_signaling(fence)
#endif

#endif /* _RIG_COMPAT_H */
