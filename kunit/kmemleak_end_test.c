// SPDX-License-Identifier: GPL-2.0-only
/*
 * kmemleak checkpoint after the rig's suites, for the leak profile. This
 * object is linked last in kunit/Makefile, so its suite runs last: it waits
 * for the suites' objects to age, scans twice and fails, printing each
 * leaked object's report with its allocation backtrace, if anything is left
 * unreferenced.
 */
#include <linux/delay.h>

#include "debugfs_file.h"

static void kml_test_end(struct kunit *test)
{
	struct vfsmount *mnt;
	struct file *file;
	char *report, *line, *next;
	int leaks = 0;

	file = kml_open(test, &mnt);
	if (!file)
		return;
	msleep(KML_MIN_AGE_MS + 500);
	/* Two scans: an object must be unreferenced in consecutive scans. */
	kml_command(test, file, "scan");
	kml_command(test, file, "scan");
	report = kml_report(test, file);
	fput(file);
	mntput(mnt);

	/*
	 * Each leak reads "unreferenced object 0x... (size N):", some lines,
	 * then "backtrace (crc ...):" and the allocation's frames; the first
	 * frame outside the allocators is the allocation site.
	 */
	for (line = report; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strstr(line, "unreferenced object"))
			leaks++;
		if (leaks)
			kunit_info(test, "%s\n", line);
	}
	KUNIT_EXPECT_EQ_MSG(test, leaks, 0,
			    "kmemleak found %d unreferenced objects: see their backtraces above",
			    leaks);
	kvfree(report);
}

static struct kunit_case kml_end_cases[] = {
	KUNIT_CASE_SLOW(kml_test_end),
	{}
};

static struct kunit_suite kml_end_suite = {
	.name = "kmemleak_end",
	.test_cases = kml_end_cases,
};

kunit_test_suite(kml_end_suite);
