/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * /dev/fake_gpu: the fake GPUs for processes.
 *
 * An open file is a GPU client: it creates VMs on devices 0..num_devices-1,
 * each mirroring the calling process' address space, binds userptrs in
 * them, submits GPU jobs and reads user memory through the GPU. VM and
 * userptr ids are the file's own; closing the file destroys them all.
 *
 * Every struct is fixed-size; its padding and its out fields must be zero
 * on input. Each ioctl either succeeds or fails without changing anything:
 *   ENOTTY  unknown command number
 *   EINVAL  wrong size or direction for the command, non-zero padding or
 *           out field, unknown flag, unaligned/empty/wrapping range or one
 *           longer than FAKE_GPU_MAX_USERPTR_LEN_UAPI, offset
 *           outside the userptr, duration above FAKE_GPU_MAX_JOB_US,
 *           or a VM of another process' address space
 *   EFAULT  argument not readable/writable, or the range (on bind) or the
 *           word (on read) not mapped in the process
 *   ENODEV  device index out of range
 *   ENOENT  no such VM or userptr in this file
 *   ENOSPC  the file's limit of VMs or userptrs is reached
 *   EAGAIN  a read, bind or job lost the race with invalidations too
 *           often; retry
 */
#ifndef _UAPI_FAKE_GPU_H
#define _UAPI_FAKE_GPU_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define FAKE_GPU_IOCTL_BASE		0xDF

/* Longest GPU job, in microseconds. */
#define FAKE_GPU_MAX_JOB_US_UAPI	10000000u
/* Longest userptr. */
#define FAKE_GPU_MAX_USERPTR_LEN_UAPI	(256u << 20)
/* Per-file limits. */
#define FAKE_GPU_MAX_VMS_PER_FILE	64
#define FAKE_GPU_MAX_USERPTRS_PER_FILE	1024

/**
 * struct fake_gpu_info - FAKE_GPU_IOCTL_INFO
 * @num_devices: out: number of devices
 * @latency_us: out: their TLB invalidation latency
 */
struct fake_gpu_info {
	__u32 num_devices;
	__u32 latency_us;
};

/* VM creation flags */
#define FAKE_GPU_VM_CREATE_TWO_PASS	_BITUL(0)	/* else single-pass */
#define FAKE_GPU_VM_CREATE_FAULT_MODE	_BITUL(1)
/* Jobs run until an invalidation preempts them (then take their duration). */
#define FAKE_GPU_VM_CREATE_PREEMPT_JOBS	_BITUL(2)
#define FAKE_GPU_VM_CREATE_FLAGS	(FAKE_GPU_VM_CREATE_TWO_PASS | \
					 FAKE_GPU_VM_CREATE_FAULT_MODE | \
					 FAKE_GPU_VM_CREATE_PREEMPT_JOBS)

/**
 * struct fake_gpu_vm_create - FAKE_GPU_IOCTL_VM_CREATE
 * @device: in: device index
 * @flags: in: FAKE_GPU_VM_CREATE_*
 * @vm_id: out: the VM's id in this file
 * @pad: must be zero
 */
struct fake_gpu_vm_create {
	__u32 device;
	__u32 flags;
	__u32 vm_id;
	__u32 pad;
};

/**
 * struct fake_gpu_userptr_bind - FAKE_GPU_IOCTL_USERPTR_BIND
 * @addr: in: page-aligned start of the range in the caller's address space
 * @length: in: page-aligned, non-zero length
 * @vm_id: in: the VM, which must mirror the caller's address space
 * @userptr_id: out: the userptr's id in this file
 *
 * Mirrors [@addr, @addr + @length) and binds it: GPU PTEs point at the
 * pages mapped there now, and follow the process' mm through the notifier.
 */
struct fake_gpu_userptr_bind {
	__u64 addr;
	__u64 length;
	__u32 vm_id;
	__u32 userptr_id;
};

/**
 * struct fake_gpu_job_submit - FAKE_GPU_IOCTL_JOB_SUBMIT
 * @vm_id: in: the VM
 * @duration_us: in: how long the job runs, at most FAKE_GPU_MAX_JOB_US_UAPI
 *
 * The job's fence joins the VM's reservation: invalidations of the VM's
 * userptrs wait for it. While it runs, the job reads the VM's userptrs
 * through the GPU. Userptrs invalidated since their bind are rebound
 * first, as a driver's exec does.
 */
struct fake_gpu_job_submit {
	__u32 vm_id;
	__u32 duration_us;
};

/**
 * struct fake_gpu_read - FAKE_GPU_IOCTL_READ
 * @offset: in: 8-byte aligned byte offset into the userptr
 * @value: out: the word the GPU read
 * @userptr_id: in: the userptr
 * @pad: must be zero
 *
 * A GPU read through the device's TLB and PTEs. An invalidated userptr is
 * rebound first, as a driver does before running a job; EFAULT if the
 * range is no longer mapped.
 */
struct fake_gpu_read {
	__u64 offset;
	__u64 value;
	__u32 userptr_id;
	__u32 pad;
};

/**
 * struct fake_gpu_dev_stats - FAKE_GPU_IOCTL_STATS
 * @device: in: device index
 * @pad: must be zero
 * @inval_submitted: out: TLB invalidations submitted
 * @inval_completed: out: TLB invalidations completed
 * @first_passes: out: notifier calls (single-pass, or first passes)
 * @finishes: out: second passes run
 * @gpu_faults: out: GPU reads that found no valid translation
 * @rebinds: out: reads through this file, on any device, that rebound an
 *           invalidated userptr first
 * @stale_accesses: out: GPU accesses, by jobs or reads, to a page no page
 *                  table maps any more: a notifier bug
 */
struct fake_gpu_dev_stats {
	__u32 device;
	__u32 pad;
	__u64 inval_submitted;
	__u64 inval_completed;
	__u64 first_passes;
	__u64 finishes;
	__u64 gpu_faults;
	__u64 rebinds;
	__u64 stale_accesses;
};

#define FAKE_GPU_IOCTL_INFO \
	_IOR(FAKE_GPU_IOCTL_BASE, 0x00, struct fake_gpu_info)
#define FAKE_GPU_IOCTL_VM_CREATE \
	_IOWR(FAKE_GPU_IOCTL_BASE, 0x01, struct fake_gpu_vm_create)
#define FAKE_GPU_IOCTL_USERPTR_BIND \
	_IOWR(FAKE_GPU_IOCTL_BASE, 0x02, struct fake_gpu_userptr_bind)
#define FAKE_GPU_IOCTL_JOB_SUBMIT \
	_IOW(FAKE_GPU_IOCTL_BASE, 0x03, struct fake_gpu_job_submit)
#define FAKE_GPU_IOCTL_READ \
	_IOWR(FAKE_GPU_IOCTL_BASE, 0x04, struct fake_gpu_read)
#define FAKE_GPU_IOCTL_STATS \
	_IOWR(FAKE_GPU_IOCTL_BASE, 0x05, struct fake_gpu_dev_stats)

#endif /* _UAPI_FAKE_GPU_H */
