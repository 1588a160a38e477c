// SPDX-License-Identifier: GPL-2.0-only
/*
 * Scaling benchmark of drm_gpusvm's invalidation with N devices: munmap()
 * of a range mirrored by N clients of drm_gpusvm_client.h, each a device
 * whose TLB invalidation takes L, single-pass against two-pass (the RFC of
 * kernel-patches/rfc/; on a tree without it only single-pass is measured).
 * The same KTAP lines as fake_gpu_bench.c, scenario "gpusvm", parsed by
 * "scripts/rig bench"; the floor (N hrtimers of L) is that suite's, in
 * the same boot. Ideal: L two-pass, N x L single-pass. Asserts no times.
 */
#include <kunit/test.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sizes.h>
#include <linux/slab.h>

#include "bench_report.h"
#include "drm_gpusvm_client.h"
#include "rig_compat.h"
#include "two_pass_thread.h"

/* A 16K range, 16K-aligned inside a mapping twice that. */
#define GSB_CHUNK	SZ_16K
#define GSB_REPS	20

static const unsigned int gsb_ns[] = { 1, 2, 4, 8, 16, 32, 64 };
static const unsigned int gsb_latencies_us[] = { 100, 1000 };

/* Map a range, bind it on every client, time its munmap(), remove it. */
static u64 gsb_time_munmap(struct kunit *test, struct gst_client **c,
			   struct gst_range **r, unsigned int n)
{
	unsigned long addr, chunk;
	unsigned int i;
	ktime_t t0;
	u64 ns;

	addr = vm_mmap(NULL, 0, 2 * GSB_CHUNK, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr), "vm_mmap(): %ld", (long)addr);
	chunk = ALIGN(addr, GSB_CHUNK);
	for (i = 0; i < n; i++) {
		r[i] = gst_range_in(test, c[i], chunk, addr, addr + 2 * GSB_CHUNK);
		gst_bind(test, c[i], r[i], NULL);
	}

	t0 = ktime_get();
	KUNIT_ASSERT_EQ(test, vm_munmap(chunk, GSB_CHUNK), 0);
	ns = ktime_to_ns(ktime_sub(ktime_get(), t0));

	for (i = 0; i < n; i++)
		gst_range_remove(c[i], r[i]);
	KUNIT_ASSERT_EQ(test, vm_munmap(addr, 2 * GSB_CHUNK), 0);
	return ns;
}

/* One point: N clients of @mode, TLB latency L, GSB_REPS munmaps. */
static void gsb_point(struct kunit *test, struct gst_log *log, struct drm_device *drm,
		      enum gst_mode mode, unsigned int n, unsigned int latency_us)
{
	struct gst_client **c = kunit_kcalloc(test, n, sizeof(*c), GFP_KERNEL);
	struct gst_range **r = kunit_kcalloc(test, n, sizeof(*r), GFP_KERNEL);
	u64 *ns = kunit_kcalloc(test, GSB_REPS, sizeof(*ns), GFP_KERNEL);
	unsigned int i;

	KUNIT_ASSERT_NOT_NULL(test, c);
	KUNIT_ASSERT_NOT_NULL(test, r);
	KUNIT_ASSERT_NOT_NULL(test, ns);
	for (i = 0; i < n; i++) {
		struct gst_client_args args = {
			.drm = drm, .log = log, .mode = mode, .index = i,
			.tlb_latency_us = latency_us,
		};

		c[i] = gst_client_create(test, current->mm, &args);
	}
	for (i = 0; i < GSB_REPS; i++)
		ns[i] = gsb_time_munmap(test, c, r, n);
	for (i = 0; i < n; i++)
		gst_client_destroy(test, c[i]);

	bench_report(test, "gpusvm", mode == GST_TWO_PASS ? "two-pass" : "single-pass",
		     n, latency_us, 0, ns, GSB_REPS);
}

static void gsb_test_munmap(struct kunit *test)
{
	static const enum gst_mode modes[] = {
		GST_SINGLE_PASS,
#ifdef RIG_HAVE_GPUSVM_TWO_PASS
		GST_TWO_PASS,
#endif
	};
	struct gst_log *log = kunit_kzalloc(test, sizeof(*log), GFP_KERNEL);
	struct drm_device *drm;
	unsigned int l, m, i;

	KUNIT_ASSERT_NOT_NULL(test, log);
	KUNIT_ASSERT_EQ(test, kunit_attach_mm(), 0);
	gst_log_init(log);
	drm = gst_drm_device(test);
	for (l = 0; l < ARRAY_SIZE(gsb_latencies_us); l++)
		for (m = 0; m < ARRAY_SIZE(modes); m++)
			for (i = 0; i < ARRAY_SIZE(gsb_ns); i++)
				gsb_point(test, log, drm, modes[m], gsb_ns[i],
					  gsb_latencies_us[l]);
	tp_detach_mm();
}

static struct kunit_case drm_gpusvm_bench_tests[] = {
	KUNIT_CASE_SLOW(gsb_test_munmap),
	{}
};

static struct kunit_suite drm_gpusvm_bench_suite = {
	.name = "drm_gpusvm_bench",
	.test_cases = drm_gpusvm_bench_tests,
};

kunit_test_suite(drm_gpusvm_bench_suite);
