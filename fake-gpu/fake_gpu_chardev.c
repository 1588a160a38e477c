// SPDX-License-Identifier: GPL-2.0-only
/*
 * /dev/fake_gpu: the fake GPUs for processes (uapi: fake_gpu_uapi.h).
 *
 * KUnit reaches the notifiers from a kernel thread with a borrowed mm; GPU
 * users are processes that fork, exit with live mirrors, mremap, mprotect
 * and run many threads. This misc device gives them the fake GPUs.
 *
 * Each open file owns VMs, each mirroring the address space of the process
 * that created it, and userptrs, in two xarrays indexed by the ids handed
 * to userspace.
 *
 * Lifetime: an object is published in its xarray only once the ioctl that
 * made it can no longer fail. Its id is reserved first (an xarray slot
 * that lookups see as empty), the id is copied out to userspace, and only
 * then is the object stored in the slot; if the copy-out fails, the slot
 * is released and the object destroyed before any other thread could see
 * it (ids are small and predictable: other threads of the process guess
 * them). A published object is destroyed only when the file is released,
 * and no ioctl of the file can run then, so an ioctl may use what it looked
 * up without further locking. Release may come after the process' mm is
 * gone (exit_mmap() runs before the files are closed): the VMs hold
 * mm_count references, and the notifiers have already seen the release
 * walk.
 */
#define pr_fmt(fmt) "fake_gpu: " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/moduleparam.h>
#include <linux/nospec.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include "fake_gpu_internal.h"
#include "fake_gpu_uapi.h"

static_assert(FAKE_GPU_MAX_JOB_US_UAPI == FAKE_GPU_MAX_JOB_US);

/* Largest userptr a file may bind: bounds the PTE array allocation. */
#define FAKE_GPU_MAX_USERPTR_LEN	FAKE_GPU_MAX_USERPTR_LEN_UAPI
/* GPU reads racing invalidations retry the rebind this often. */
#define FAKE_GPU_READ_TRIES		16

static unsigned int fake_gpu_ndevs = 8;
module_param_named(devices, fake_gpu_ndevs, uint, 0444);
MODULE_PARM_DESC(devices, "number of devices behind /dev/fake_gpu (1-64)");

static unsigned int fake_gpu_latency_us = 100;
module_param_named(latency_us, fake_gpu_latency_us, uint, 0444);
MODULE_PARM_DESC(latency_us, "TLB invalidation latency of those devices");

static struct fake_gpu_dev **fake_gpu_cdevs;

struct fake_gpu_file {
	struct xarray vms;		/* id -> struct fake_gpu_vm */
	struct xarray userptrs;		/* id -> struct fake_gpu_userptr */
	atomic64_t rebinds;
};

/*
 * An object made by an ioctl, under a reserved id of @xa: stored there once
 * the id was copied out, else destroyed with @discard.
 */
struct fake_gpu_unpublished {
	struct xarray *xa;
	u32 id;
	void *obj;
	void (*discard)(void *obj);
};

union fake_gpu_ioctl_arg {
	struct fake_gpu_info info;
	struct fake_gpu_vm_create vm_create;
	struct fake_gpu_userptr_bind bind;
	struct fake_gpu_job_submit job;
	struct fake_gpu_read read;
	struct fake_gpu_dev_stats stats;
};

/* Reserve an id in @xa for @obj, to be published by the ioctl's caller. */
static int fake_gpu_reserve(struct xarray *xa, u32 max, void *obj,
			    void (*discard)(void *obj), u32 *id,
			    struct fake_gpu_unpublished *unpub)
{
	int ret;

	/* A NULL entry reserves the slot: xa_load() returns NULL for it. */
	ret = xa_alloc(xa, id, NULL, XA_LIMIT(1, max), GFP_KERNEL);
	if (ret) {
		discard(obj);
		return ret == -EBUSY ? -ENOSPC : ret;
	}
	unpub->xa = xa;
	unpub->id = *id;
	unpub->obj = obj;
	unpub->discard = discard;
	return 0;
}

static int fake_gpu_ioctl_info(struct fake_gpu_file *f, union fake_gpu_ioctl_arg *a,
			       struct fake_gpu_unpublished *unpub)
{
	a->info.num_devices = fake_gpu_ndevs;
	a->info.latency_us = fake_gpu_latency_us;
	return 0;
}

static void fake_gpu_discard_vm(void *vm)
{
	fake_gpu_vm_destroy(vm);
}

static int fake_gpu_ioctl_vm_create(struct fake_gpu_file *f,
				    union fake_gpu_ioctl_arg *a,
				    struct fake_gpu_unpublished *unpub)
{
	struct fake_gpu_vm_create *arg = &a->vm_create;
	struct fake_gpu_vm *vm;
	unsigned int flags = 0;

	if (arg->pad || arg->vm_id || (arg->flags & ~FAKE_GPU_VM_CREATE_FLAGS))
		return -EINVAL;
	if (arg->device >= fake_gpu_ndevs)
		return -ENODEV;
	if (!current->mm)
		return -EINVAL;
	if (arg->flags & FAKE_GPU_VM_CREATE_FAULT_MODE)
		flags |= FAKE_GPU_VM_FAULT_MODE;
	if (arg->flags & FAKE_GPU_VM_CREATE_PREEMPT_JOBS)
		flags |= FAKE_GPU_VM_PREEMPT_JOBS;
	vm = fake_gpu_vm_create(fake_gpu_cdevs[arg->device], current->mm,
				arg->flags & FAKE_GPU_VM_CREATE_TWO_PASS ?
				FAKE_GPU_TWO_PASS : FAKE_GPU_SINGLE_PASS, flags);
	if (IS_ERR(vm))
		return PTR_ERR(vm);
	return fake_gpu_reserve(&f->vms, FAKE_GPU_MAX_VMS_PER_FILE, vm,
				fake_gpu_discard_vm, &arg->vm_id, unpub);
}

static void fake_gpu_discard_userptr(void *uptr)
{
	fake_gpu_userptr_free(uptr);
}

static int fake_gpu_ioctl_bind(struct fake_gpu_file *f, union fake_gpu_ioctl_arg *a,
			       struct fake_gpu_unpublished *unpub)
{
	struct fake_gpu_userptr_bind *arg = &a->bind;
	struct fake_gpu_userptr *uptr;
	struct fake_gpu_vm *vm;
	int ret;

	if (arg->userptr_id || arg->length > FAKE_GPU_MAX_USERPTR_LEN)
		return -EINVAL;
	vm = xa_load(&f->vms, arg->vm_id);
	if (!vm)
		return -ENOENT;
	/* A VM of the parent, through a file inherited by fork(). */
	if (vm->mm != current->mm)
		return -EINVAL;
	uptr = fake_gpu_userptr_create(vm, arg->addr, arg->length);
	if (IS_ERR(uptr))
		return PTR_ERR(uptr);
	ret = fake_gpu_userptr_bind(uptr);
	if (ret) {
		fake_gpu_userptr_free(uptr);
		return ret;
	}
	return fake_gpu_reserve(&f->userptrs, FAKE_GPU_MAX_USERPTRS_PER_FILE, uptr,
				fake_gpu_discard_userptr, &arg->userptr_id, unpub);
}

static int fake_gpu_ioctl_job(struct fake_gpu_file *f, union fake_gpu_ioctl_arg *a,
			      struct fake_gpu_unpublished *unpub)
{
	struct fake_gpu_vm *vm = xa_load(&f->vms, a->job.vm_id);

	if (a->job.duration_us > FAKE_GPU_MAX_JOB_US)
		return -EINVAL;
	if (!vm)
		return -ENOENT;
	return fake_gpu_vm_submit_job(vm, a->job.duration_us, NULL);
}

static int fake_gpu_ioctl_read(struct fake_gpu_file *f, union fake_gpu_ioctl_arg *a,
			       struct fake_gpu_unpublished *unpub)
{
	struct fake_gpu_read *arg = &a->read;
	struct fake_gpu_userptr *uptr;
	int tries, ret;

	if (arg->pad || arg->value)
		return -EINVAL;
	uptr = xa_load(&f->userptrs, arg->userptr_id);
	if (!uptr)
		return -ENOENT;
	if (arg->offset >= uptr->npages << PAGE_SHIFT || !IS_ALIGNED(arg->offset, 8))
		return -EINVAL;
	/*
	 * A GPU fault on an invalidated userptr: rebind, as a driver repins
	 * before running a job, and read again. The rebind fails with EFAULT
	 * once the range is no longer mapped.
	 */
	for (tries = 0; tries < FAKE_GPU_READ_TRIES; tries++) {
		ret = fake_gpu_read(uptr, arg->offset, &arg->value);
		if (ret != -EFAULT)
			return ret;
		ret = fake_gpu_userptr_bind(uptr);
		if (ret)
			return ret;
		atomic64_inc(&f->rebinds);
	}
	return -EAGAIN;
}

static int fake_gpu_ioctl_stats(struct fake_gpu_file *f, union fake_gpu_ioctl_arg *a,
				struct fake_gpu_unpublished *unpub)
{
	struct fake_gpu_dev_stats *arg = &a->stats;
	struct fake_gpu_stats st;
	int i;

	if (arg->pad || memchr_inv(&arg->inval_submitted, 0,
				   sizeof(*arg) - offsetof(typeof(*arg), inval_submitted)))
		return -EINVAL;
	if (arg->device >= fake_gpu_ndevs)
		return -ENODEV;
	fake_gpu_dev_stats(fake_gpu_cdevs[arg->device], &st);
	arg->inval_submitted = st.v[FAKE_GPU_STAT_INVAL_SUBMITTED];
	arg->inval_completed = st.v[FAKE_GPU_STAT_INVAL_COMPLETED];
	arg->first_passes = 0;
	for (i = 0; i < FAKE_GPU_NR_STATS; i++)
		if (FAKE_GPU_FIRST_PASS_STATS & BIT_ULL(i))
			arg->first_passes += st.v[i];
	arg->finishes = st.v[FAKE_GPU_STAT_FINISHES];
	arg->gpu_faults = st.v[FAKE_GPU_STAT_GPU_FAULTS];
	arg->rebinds = atomic64_read(&f->rebinds);
	arg->stale_accesses = st.v[FAKE_GPU_STAT_STALE_ACCESS];
	return 0;
}

/*
 * @fn may make one object: it reserves its id with fake_gpu_reserve(), and
 * fake_gpu_ioctl() publishes or discards it.
 */
struct fake_gpu_ioctl_desc {
	unsigned int cmd;
	int (*fn)(struct fake_gpu_file *f, union fake_gpu_ioctl_arg *a,
		  struct fake_gpu_unpublished *unpub);
};

/* Indexed by _IOC_NR(). */
static const struct fake_gpu_ioctl_desc fake_gpu_ioctls[] = {
	{ FAKE_GPU_IOCTL_INFO, fake_gpu_ioctl_info },
	{ FAKE_GPU_IOCTL_VM_CREATE, fake_gpu_ioctl_vm_create },
	{ FAKE_GPU_IOCTL_USERPTR_BIND, fake_gpu_ioctl_bind },
	{ FAKE_GPU_IOCTL_JOB_SUBMIT, fake_gpu_ioctl_job },
	{ FAKE_GPU_IOCTL_READ, fake_gpu_ioctl_read },
	{ FAKE_GPU_IOCTL_STATS, fake_gpu_ioctl_stats },
};

static long fake_gpu_ioctl(struct file *file, unsigned int cmd, unsigned long uarg)
{
	struct fake_gpu_file *f = file->private_data;
	void __user *uptr = (void __user *)uarg;
	struct fake_gpu_unpublished unpub = {};
	const struct fake_gpu_ioctl_desc *desc;
	union fake_gpu_ioctl_arg arg;
	unsigned int nr = _IOC_NR(cmd);
	int ret;

	if (_IOC_TYPE(cmd) != FAKE_GPU_IOCTL_BASE || nr >= ARRAY_SIZE(fake_gpu_ioctls))
		return -ENOTTY;
	desc = &fake_gpu_ioctls[array_index_nospec(nr, ARRAY_SIZE(fake_gpu_ioctls))];
	/* The right number with the wrong size or direction. */
	if (cmd != desc->cmd)
		return -EINVAL;

	memset(&arg, 0, sizeof(arg));
	if ((_IOC_DIR(cmd) & _IOC_WRITE) && copy_from_user(&arg, uptr, _IOC_SIZE(cmd)))
		return -EFAULT;
	ret = desc->fn(f, &arg, &unpub);
	if (!ret && (_IOC_DIR(cmd) & _IOC_READ) &&
	    copy_to_user(uptr, &arg, _IOC_SIZE(cmd)))
		ret = -EFAULT;
	if (!unpub.obj)
		return ret;
	if (ret) {
		/* Nobody could look it up: the slot was empty to them. */
		xa_release(unpub.xa, unpub.id);
		unpub.discard(unpub.obj);
		return ret;
	}
	/* The slot is reserved: storing into it allocates nothing, cannot fail. */
	WARN_ON(xa_err(xa_store(unpub.xa, unpub.id, unpub.obj, GFP_KERNEL)));
	return 0;
}

static int fake_gpu_open(struct inode *inode, struct file *file)
{
	struct fake_gpu_file *f = kzalloc_obj(*f, GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	xa_init_flags(&f->vms, XA_FLAGS_ALLOC1);
	xa_init_flags(&f->userptrs, XA_FLAGS_ALLOC1);
	file->private_data = f;
	return nonseekable_open(inode, file);
}

static int fake_gpu_release(struct inode *inode, struct file *file)
{
	struct fake_gpu_file *f = file->private_data;
	struct fake_gpu_vm *vm;
	unsigned long id;

	/* The VMs own their userptrs. */
	xa_destroy(&f->userptrs);
	xa_for_each(&f->vms, id, vm)
		fake_gpu_vm_destroy(vm);
	xa_destroy(&f->vms);
	kfree(f);
	return 0;
}

static const struct file_operations fake_gpu_fops = {
	.owner = THIS_MODULE,
	.open = fake_gpu_open,
	.release = fake_gpu_release,
	.unlocked_ioctl = fake_gpu_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice fake_gpu_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "fake_gpu",
	.fops = &fake_gpu_fops,
	/*
	 * Root only, as lib/test_hmm.c's nodes: a real render node is world
	 * accessible because its driver accounts what a client pins, and this
	 * one does not (a file can hold 512 MiB of PTE arrays).
	 */
	.mode = 0600,
};

static int __init fake_gpu_chardev_init(void)
{
	int ret;

	if (!fake_gpu_ndevs || fake_gpu_ndevs > 64) {
		pr_err("devices=%u: must be 1 to 64\n", fake_gpu_ndevs);
		return -EINVAL;
	}
	fake_gpu_cdevs = kcalloc(fake_gpu_ndevs, sizeof(*fake_gpu_cdevs), GFP_KERNEL);
	if (!fake_gpu_cdevs)
		return -ENOMEM;
	ret = fake_gpu_devs_create(fake_gpu_ndevs, fake_gpu_latency_us, 0,
				   fake_gpu_cdevs);
	if (ret) {
		pr_err("latency_us=%u: cannot create the devices (%d)\n",
		       fake_gpu_latency_us, ret);
		goto err_free;
	}
	ret = misc_register(&fake_gpu_misc);
	if (ret)
		goto err_devs;
	return 0;

err_devs:
	fake_gpu_devs_destroy(fake_gpu_ndevs, fake_gpu_cdevs);
err_free:
	kfree(fake_gpu_cdevs);
	fake_gpu_cdevs = NULL;
	return ret;
}
late_initcall(fake_gpu_chardev_init);
