/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * debugfs files opened from a KUnit test through an internal mount of
 * debugfs: kmemleak's file (it has no in-kernel interface to scan or
 * report) and the fake GPU's counters.
 */
#ifndef _DEBUGFS_FILE_H
#define _DEBUGFS_FILE_H

#include <kunit/test.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mman.h>
#include <linux/mount.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* kmemleak does not report objects younger than this (MSECS_MIN_AGE). */
#define KML_MIN_AGE_MS	5000
#define KML_REPORT_MAX	(64 * 1024)

static inline struct file *kml_open_path(struct kunit *test, struct vfsmount **mnt,
					 const char *path, int flags)
{
	struct file_system_type *type = get_fs_type("debugfs");
	struct file *file;

	KUNIT_ASSERT_NOT_NULL(test, type);
	*mnt = vfs_kern_mount(type, 0, "debugfs", NULL);
	put_filesystem(type);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(*mnt), "cannot mount debugfs: %ld",
			       PTR_ERR(*mnt));
	file = file_open_root_mnt(*mnt, path, flags, 0);
	if (IS_ERR(file)) {
		mntput(*mnt);
		KUNIT_FAIL(test, "cannot open debugfs file %s: %ld", path,
			   PTR_ERR(file));
		return NULL;
	}
	return file;
}

static inline struct file *kml_open(struct kunit *test, struct vfsmount **mnt)
{
	return kml_open_path(test, mnt, "kmemleak", O_RDWR);
}

/*
 * kmemleak's file has .read/.write but no _iter methods, which
 * kernel_read()/kernel_write() need: go through vfs_read()/vfs_write() with
 * a buffer in the test's own user address space instead.
 */
static inline char __user *kml_user_buf(struct kunit *test)
{
	unsigned long addr = kunit_vm_mmap(test, NULL, 0, KML_REPORT_MAX,
					   PROT_READ | PROT_WRITE,
					   MAP_ANONYMOUS | MAP_PRIVATE, 0);

	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() failed");
	return (char __user *)addr;
}

static inline void kml_command(struct kunit *test, struct file *file,
			       const char *cmd)
{
	char __user *ubuf = kml_user_buf(test);
	size_t len = strlen(cmd);
	loff_t pos = 0;

	KUNIT_ASSERT_EQ(test, copy_to_user(ubuf, cmd, len), 0);
	KUNIT_EXPECT_EQ(test, vfs_write(file, ubuf, len, &pos), (ssize_t)len);
}

/* Read the current report; the caller frees it. */
static inline char *kml_report(struct kunit *test, struct file *file)
{
	char *buf = kvzalloc(KML_REPORT_MAX, GFP_KERNEL);
	char __user *ubuf = kml_user_buf(test);
	loff_t pos = 0;
	ssize_t n, len = 0;

	KUNIT_ASSERT_NOT_NULL(test, buf);
	while (len < KML_REPORT_MAX - 1) {
		n = vfs_read(file, ubuf + len, KML_REPORT_MAX - 1 - len, &pos);
		if (n <= 0)
			break;
		len += n;
	}
	KUNIT_EXPECT_EQ(test, copy_from_user(buf, ubuf, len), 0);
	buf[len] = '\0';
	return buf;
}

#endif /* _DEBUGFS_FILE_H */
