# SPDX-License-Identifier: GPL-2.0-only
#
# Interfaces that changed between the rig's kernel bases, detected in the
# tree's own headers rather than by version number, so that any tree in
# between (a backport, a git checkout) gets what it has. rig_compat.h maps
# the old interface to the new one where a flag is missing.

rig-have = $(if $(shell grep -qsF '$(2)' $(srctree)/$(1) && echo y),-DRIG_HAVE_$(3))

# rig_compat.h: the flags below were looked for.
ccflags-y += -DRIG_COMPAT_PROBED
# 7.3: dma_fence_enable_sw_signaling() became dma_fence_enable_signaling().
ccflags-y += $(call rig-have,include/linux/dma-fence.h,void dma_fence_enable_signaling,DMA_FENCE_ENABLE_SIGNALING)
# 6.13: hrtimer_setup() sets the callback with the timer (hrtimer_init() is gone by 7.3).
ccflags-y += $(call rig-have,include/linux/hrtimer.h,extern void hrtimer_setup,HRTIMER_SETUP)
# The two-pass series (7.1; the 6.12 backport): what a benchmark built on
# trees with and without it may compare.
ccflags-y += $(call rig-have,include/linux/mmu_notifier.h,bool (*invalidate_start),TWO_PASS_NOTIFIER)
# The RFC of kernel-patches/rfc/ that gives drm_gpusvm a two-pass invalidation.
ccflags-y += $(call rig-have,include/drm/drm_gpusvm.h,(*invalidate_start),GPUSVM_TWO_PASS)
