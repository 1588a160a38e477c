// SPDX-License-Identifier: GPL-2.0-only
/*
 * Helpers shared by the fake-gpu KUnit suites.
 *
 * Objects are destroyed by KUnit actions in reverse creation order, after
 * the test thread (and with it the test's mm) is gone: VMs before their
 * devices, and the notifiers' release walk has run by then.
 */
#include <kunit/resource.h>
#include <kunit/test.h>
#include <linux/err.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/sched/mm.h>
#include <linux/uaccess.h>

#include "fake_gpu_test_common.h"

struct fgt_devs {
	unsigned int count;
	struct fake_gpu_dev *devs[];
};

static void fgt_devs_destroy(void *data)
{
	struct fgt_devs *d = data;

	fake_gpu_devs_destroy(d->count, d->devs);
}

struct fake_gpu_dev **fgt_devs(struct kunit *test, unsigned int count,
			       u32 latency_us, u32 jitter_us)
{
	struct fgt_devs *d;

	d = kunit_kzalloc(test, struct_size(d, devs, count), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, d);
	KUNIT_ASSERT_EQ(test, fake_gpu_devs_create(count, latency_us, jitter_us,
						   d->devs), 0);
	d->count = count;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fgt_devs_destroy, d), 0);
	return d->devs;
}

/* Destroy devices from fgt_devs() now instead of at the end of the test. */
void fgt_release_devs(struct kunit *test, struct fake_gpu_dev **devs)
{
	kunit_release_action(test, fgt_devs_destroy,
			     container_of(devs, struct fgt_devs, devs[0]));
}

static void fgt_vm_destroy(void *vm)
{
	fake_gpu_vm_destroy(vm);
}

/* Destroy a VM from fgt_vm() now instead of at the end of the test. */
void fgt_release_vm(struct kunit *test, struct fake_gpu_vm *vm)
{
	kunit_release_action(test, fgt_vm_destroy, vm);
}

struct fake_gpu_vm *fgt_vm(struct kunit *test, struct fake_gpu_dev *dev,
			   enum fake_gpu_mode mode, unsigned int flags)
{
	struct fake_gpu_vm *vm;

	vm = fake_gpu_vm_create(dev, current->mm, mode, flags);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fgt_vm_destroy, vm), 0);
	return vm;
}

/* Userptrs are freed with their VM. */
struct fake_gpu_userptr *fgt_userptr(struct kunit *test, struct fake_gpu_vm *vm,
				     unsigned long addr, unsigned long pages)
{
	struct fake_gpu_userptr *uptr;

	uptr = fake_gpu_userptr_create(vm, addr, pages << PAGE_SHIFT);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, uptr);
	return uptr;
}

void fgt_write_pattern(struct kunit *test, unsigned long addr,
		       unsigned long pages, u32 salt)
{
	unsigned long i;

	for (i = 0; i < pages; i++) {
		u64 __user *p = (u64 __user *)(addr + (i << PAGE_SHIFT));

		KUNIT_ASSERT_EQ(test, put_user(fgt_pattern(salt, i), p), 0);
	}
}

/*
 * Map @pages anonymous pages (at @addr if not 0, replacing what is there)
 * and write the pattern of @salt into them.
 */
static void fgt_mmput(void *mm)
{
	mmput(mm);
}

/*
 * The first mapping of a test attaches an mm to the test thread. That mm
 * would be torn down when the thread exits, concurrently with the cleanup
 * that destroys the test's VMs; hold it until they are gone (actions run
 * in reverse order), so exit_mmap() runs last.
 */
unsigned long fgt_map(struct kunit *test, unsigned long addr,
		      unsigned long pages, u32 salt)
{
	unsigned long flags = MAP_ANONYMOUS | MAP_PRIVATE | (addr ? MAP_FIXED : 0);
	bool first = !current->mm;

	addr = kunit_vm_mmap(test, NULL, addr, pages << PAGE_SHIFT,
			     PROT_READ | PROT_WRITE, flags, 0);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() failed");
	if (first) {
		mmget(current->mm);
		KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, fgt_mmput,
								current->mm), 0);
	}
	fgt_write_pattern(test, addr, pages, salt);
	return addr;
}

/*
 * Map a new page at page @page of the range at @base, with its pattern.
 *
 * The old page is held until the new one is in place: the page allocator
 * hands out a page just freed first, and a new page with the old one's
 * pfn would look unchanged to an oracle that compares pfns (it did, once
 * the kernel was preemptible).
 */
void fgt_remap_page(struct kunit *test, unsigned long base, unsigned long page,
		    u32 salt)
{
	unsigned long addr = base + (page << PAGE_SHIFT);
	struct page *old;
	int ret;

	/* Nothing to hold if nothing is mapped there (the stress test unmaps). */
	if (get_user_pages_fast(addr, 1, 0, &old) != 1)
		old = NULL;
	addr = kunit_vm_mmap(test, NULL, addr, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_ANONYMOUS | MAP_PRIVATE | MAP_FIXED, 0);
	ret = addr ? put_user(fgt_pattern(salt, page), (u64 __user *)addr) : -ENOMEM;
	if (old)
		put_page(old);
	KUNIT_ASSERT_NE_MSG(test, addr, 0, "kunit_vm_mmap() failed");
	KUNIT_ASSERT_EQ(test, ret, 0);
}

void fgt_expect_reads(struct kunit *test, struct fake_gpu_userptr *uptr,
		      unsigned long pages, u32 salt)
{
	unsigned long i;
	u64 val;

	for (i = 0; i < pages; i++) {
		KUNIT_EXPECT_EQ_MSG(test, fake_gpu_read(uptr, i << PAGE_SHIFT, &val),
				    0, "page %lu", i);
		KUNIT_EXPECT_EQ_MSG(test, val, fgt_pattern(salt, i), "page %lu", i);
	}
}

void fgt_expect_faults(struct kunit *test, struct fake_gpu_userptr *uptr,
		       unsigned long pages)
{
	unsigned long i;
	u64 val;

	for (i = 0; i < pages; i++)
		KUNIT_EXPECT_EQ_MSG(test, fake_gpu_read(uptr, i << PAGE_SHIFT, &val),
				    -EFAULT, "page %lu", i);
}
