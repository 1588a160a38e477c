/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one KTAP diagnostic line every benchmark point prints, parsed by
 * "scripts/rig bench" (scripts/riglib/bench.py):
 *
 *   # <test>: BENCH scenario=<s> mode=<m> n=<N> latency_us=<L> job_us=<J>
 *     reps=<R> min_ns=<a> median_ns=<b> max_ns=<c>
 *
 * Header-only: mmu_notifier_core_bench.c builds on trees without the rig's
 * helpers too.
 */
#ifndef _BENCH_REPORT_H
#define _BENCH_REPORT_H

#include <kunit/test.h>
#include <linux/sort.h>
#include <linux/types.h>

static inline int bench_cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

/* Sort the @count samples @ns and print the point's BENCH line. */
static inline void bench_report(struct kunit *test, const char *scenario,
				const char *mode, unsigned int n, u32 latency_us,
				u32 job_us, u64 *ns, unsigned int count)
{
	sort(ns, count, sizeof(*ns), bench_cmp_u64, NULL);
	kunit_info(test, "BENCH scenario=%s mode=%s n=%u latency_us=%u job_us=%u reps=%u min_ns=%llu median_ns=%llu max_ns=%llu\n",
		   scenario, mode, n, latency_us, job_us, count, ns[0],
		   ns[count / 2], ns[count - 1]);
}

#endif /* _BENCH_REPORT_H */
