// SPDX-License-Identifier: GPL-2.0-only
/*
 * fake-gpu canaries: deliberate bugs that prove the rig's detectors are
 * live. Each is inert unless named on the kernel command line with
 * fake_gpu.canary=NAME; "scripts/rig canaries" boots the debug kernel once
 * per canary and requires the run to fail with the expected detector.
 */
#define pr_fmt(fmt) "fake_gpu: " fmt

#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "fake_gpu_internal.h"

static const char * const fake_gpu_canary_names[] = {
	[FAKE_GPU_CANARY_NONE] = "",
	[FAKE_GPU_CANARY_LOCKDEP] = "lockdep",
	[FAKE_GPU_CANARY_KASAN] = "kasan",
	[FAKE_GPU_CANARY_SLEEP] = "sleep",
	[FAKE_GPU_CANARY_HANG] = "hang",
	[FAKE_GPU_CANARY_RESV] = "resv",
	[FAKE_GPU_CANARY_EXEC] = "exec",
	[FAKE_GPU_CANARY_LEAK] = "leak",
	[FAKE_GPU_CANARY_RACE] = "race",
	[FAKE_GPU_CANARY_UBSAN] = "ubsan",
	[FAKE_GPU_CANARY_KMSAN] = "kmsan",
};

enum fake_gpu_canary fake_gpu_canary_on __read_mostly;
DEFINE_STATIC_KEY_FALSE(fake_gpu_canary_armed);

/*
 * The "race" canary's counter: incremented with a plain ++ by every GPU
 * access, from every CPU, under no common lock. KCSAN (the smp profile)
 * must report it; nothing reads it.
 */
static unsigned long fake_gpu_canary_accesses;

/* Plain increments per GPU access: see fake_gpu_canary_race(). */
#define FAKE_GPU_CANARY_RACE_RUN	64

/*
 * One GPU access's share of the "race" canary. KCSAN watches one sampled
 * memory access in thousands, for 80 us. With one ++ per GPU access, the
 * canary was caught only while the host ran both vCPUs at once for long:
 * on a busy host it missed over 99374 accesses in 20 s. A run of
 * increments, each loaded and stored again (barrier() keeps the compiler
 * from folding them into one), is sampled 64 times as often; it is still
 * one plain read-modify-write racing with another, nothing KCSAN would
 * not report alone.
 */
void fake_gpu_canary_race(void)
{
	int i;

	for (i = 0; i < FAKE_GPU_CANARY_RACE_RUN; i++) {
		fake_gpu_canary_accesses++;
		barrier();
	}
}

static int fake_gpu_canary_set(const char *val, const struct kernel_param *kp)
{
	int i = sysfs_match_string(fake_gpu_canary_names, val);

	if (i < 0) {
		pr_err("unknown canary \"%s\"\n", val);
		return -EINVAL;
	}
	fake_gpu_canary_on = i;
	return 0;
}

static int fake_gpu_canary_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%s\n", fake_gpu_canary_names[fake_gpu_canary_on]);
}

/*
 * Arm the canary named on the command line, once, at boot: the parameter
 * is read-only afterwards. The canaries are first reached by the KUnit
 * suites and processes, after every initcall.
 */
static int __init fake_gpu_canary_arm(void)
{
	if (fake_gpu_canary_on != FAKE_GPU_CANARY_NONE)
		static_branch_enable(&fake_gpu_canary_armed);
	return 0;
}
core_initcall(fake_gpu_canary_arm);

static const struct kernel_param_ops fake_gpu_canary_ops = {
	.set = fake_gpu_canary_set,
	.get = fake_gpu_canary_get,
};
module_param_cb(canary, &fake_gpu_canary_ops, NULL, 0444);
MODULE_PARM_DESC(canary, "deliberate bug to switch on: lockdep, kasan, sleep, hang, resv, exec, leak, race, ubsan or kmsan (testing only)");
