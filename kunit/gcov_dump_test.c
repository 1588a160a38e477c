// SPDX-License-Identifier: GPL-2.0-only
/*
 * Write out UML's gcov data after the rig's suites, for the coverage
 * profile. GCC >= 7's libgcov writes it from a .fini_array destructor, and
 * UML's linker script has no .fini_array, so at exit nothing is written;
 * calling libgcov's __gcov_dump() (a host library function: UML links
 * libgcov into the kernel) from a suite linked last does it instead.
 */
#include <kunit/test.h>

void __gcov_dump(void);

static void gcov_dump_test(struct kunit *test)
{
	__gcov_dump();
}

static struct kunit_case gcov_dump_cases[] = {
	KUNIT_CASE(gcov_dump_test),
	{}
};

static struct kunit_suite gcov_dump_suite = {
	.name = "gcov_dump",
	.test_cases = gcov_dump_cases,
};

kunit_test_suite(gcov_dump_suite);
