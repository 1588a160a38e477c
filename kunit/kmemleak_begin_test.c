// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmemleak checkpoint before the rig's suites, for the leak profile. This
 * object is linked first in kunit/Makefile, so its suite runs first: it
 * waits until boot-time objects are old enough to be reported, scans and
 * clears what it found, so that only the suites' leaks remain for
 * kmemleak_end.
 */
#include <linux/delay.h>

#include "debugfs_file.h"
#include "two_pass_thread.h"

static void kml_test_begin(struct kunit *test)
{
	struct vfsmount *mnt;
	struct file *file;

	file = kml_open(test, &mnt);
	if (!file)
		return;
	msleep(KML_MIN_AGE_MS + 500);
	kml_command(test, file, "scan");
	kml_command(test, file, "clear");
	fput(file);
	mntput(mnt);
	/* The checkpoint itself must not leak its test mm. */
	tp_detach_mm();
}

static struct kunit_case kml_begin_cases[] = {
	KUNIT_CASE_SLOW(kml_test_begin),
	{}
};

static struct kunit_suite kml_begin_suite = {
	.name = "kmemleak_begin",
	.test_cases = kml_begin_cases,
};

kunit_test_suite(kml_begin_suite);
