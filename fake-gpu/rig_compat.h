/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The rig's code is written for the upstream base (7.3). This header keeps
 * it building on older trees (the 6.12 base) where an interface changed in
 * between, and is the one place that does: the rig's own directories and
 * xe-tests/ (setup stages a copy beside xe's tests) include it.
 *
 * A macro is detected by itself. A function is detected by
 * fake-gpu/compat.mk, in the tree's own headers, which says so with
 * RIG_COMPAT_PROBED and a RIG_HAVE_ flag per interface the tree has; code
 * built without it (xe's tests) gets only the macros' shims.
 */
#ifndef _RIG_COMPAT_H
#define _RIG_COMPAT_H

#include <linux/dma-fence.h>
#include <linux/hrtimer.h>
#include <linux/slab.h>

#ifndef kzalloc_obj
/* Before 7.3: no typed allocators; the rig always passes the GFP flags. */
#define kzalloc_obj(obj, gfp)	kzalloc(sizeof(obj), gfp)
#endif

#ifdef RIG_COMPAT_PROBED

#ifndef RIG_HAVE_DMA_FENCE_ENABLE_SIGNALING
/* Before 7.3 (7.2.12 still has it): dma_fence_enable_sw_signaling(). */
#define dma_fence_enable_signaling(fence) dma_fence_enable_sw_signaling(fence)
#endif

#ifndef RIG_HAVE_HRTIMER_SETUP
/* Before 6.13: hrtimer_init(), then the callback set by hand. */
static inline void hrtimer_setup(struct hrtimer *timer,
				 enum hrtimer_restart (*function)(struct hrtimer *),
				 clockid_t clock_id, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock_id, mode);
	timer->function = function;
}
#endif

#endif /* RIG_COMPAT_PROBED */

#endif /* _RIG_COMPAT_H */
