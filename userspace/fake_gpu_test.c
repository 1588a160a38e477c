// SPDX-License-Identifier: GPL-2.0-only
/*
 * Processes driving the fake GPUs through /dev/fake_gpu, inside UML.
 *
 * Each case maps memory, mirrors it on 1 or 8 fake GPUs (single- or
 * two-pass notifiers) and changes the mapping the way GPU users do: munmap,
 * fork + copy-on-write, mremap, mprotect, MADV_DONTNEED, exit with live
 * mirrors, threads reading through the GPU while another remaps. A GPU read
 * goes through the device's TLB and PTEs to the page, so a notifier that
 * missed a change reads a stale page: a wrong value here, a KASAN report on
 * the console. The device counters prove the notifiers ran.
 *
 * Built static by scripts/rig with the kernel tree's kselftest_harness.h and
 * run as the only program of a UML boot (see userspace/rig_init.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "fake_gpu_uapi.h"

/*
 * Under the rig's init (which sets rig_kmsg), write straight to the kernel
 * log, a record per line: a kernel report a test causes then comes after
 * every line the test printed before it. Through init's pty, our lines
 * would reach the log later than the kernel's, and the splat gate would
 * blame an earlier test.
 */
__attribute__((constructor)) static void log_to_kmsg(void)
{
	int fd;

	if (!getenv("rig_kmsg"))
		return;
	fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	fflush(NULL);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	setvbuf(stdout, NULL, _IOLBF, 0);
}

#define NPAGES		16
#define MAX_DEVS	8

static long page_size(void)
{
	return sysconf(_SC_PAGESIZE);
}

/* A value no page holds by accident. */
static __u64 pattern(unsigned long word)
{
	return 0xfa4e000000000000ull | word;
}

static int gpu_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

static int vm_create(int fd, unsigned int dev, unsigned int flags, unsigned int *vm)
{
	struct fake_gpu_vm_create a = { .device = dev, .flags = flags };
	int ret = gpu_ioctl(fd, FAKE_GPU_IOCTL_VM_CREATE, &a);

	*vm = a.vm_id;
	return ret;
}

static int bind(int fd, unsigned int vm, void *addr, size_t len, unsigned int *uptr)
{
	struct fake_gpu_userptr_bind a = {
		.addr = (uintptr_t)addr, .length = len, .vm_id = vm,
	};
	int ret = gpu_ioctl(fd, FAKE_GPU_IOCTL_USERPTR_BIND, &a);

	*uptr = a.userptr_id;
	return ret;
}

static int gpu_read(int fd, unsigned int uptr, __u64 offset, __u64 *val)
{
	struct fake_gpu_read a = { .offset = offset, .userptr_id = uptr };
	int ret = gpu_ioctl(fd, FAKE_GPU_IOCTL_READ, &a);

	*val = a.value;
	return ret;
}

static int job(int fd, unsigned int vm, unsigned int us)
{
	struct fake_gpu_job_submit a = { .vm_id = vm, .duration_us = us };

	return gpu_ioctl(fd, FAKE_GPU_IOCTL_JOB_SUBMIT, &a);
}

static struct fake_gpu_dev_stats stats(int fd, unsigned int dev)
{
	struct fake_gpu_dev_stats a = { .device = dev };

	if (gpu_ioctl(fd, FAKE_GPU_IOCTL_STATS, &a))
		memset(&a, 0xff, sizeof(a));
	return a;
}

static __u64 *map_pattern(size_t len)
{
	__u64 *buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t i;

	if (buf == MAP_FAILED)
		return NULL;
	for (i = 0; i < len / 8; i++)
		buf[i] = pattern(i);
	return buf;
}

FIXTURE(gpu) {
	int fd;
	unsigned int ndevs;
	unsigned int vm[MAX_DEVS];
	unsigned int uptr[MAX_DEVS];
	size_t len;
	__u64 *buf;
};

FIXTURE_VARIANT(gpu) {
	unsigned int ndevs;
	unsigned int flags;
};

FIXTURE_VARIANT_ADD(gpu, one_single_pass) {
	.ndevs = 1,
	.flags = FAKE_GPU_VM_CREATE_FAULT_MODE,
};

FIXTURE_VARIANT_ADD(gpu, one_two_pass) {
	.ndevs = 1,
	.flags = FAKE_GPU_VM_CREATE_FAULT_MODE | FAKE_GPU_VM_CREATE_TWO_PASS,
};

FIXTURE_VARIANT_ADD(gpu, eight_single_pass) {
	.ndevs = 8,
	.flags = FAKE_GPU_VM_CREATE_FAULT_MODE,
};

FIXTURE_VARIANT_ADD(gpu, eight_two_pass) {
	.ndevs = 8,
	.flags = FAKE_GPU_VM_CREATE_FAULT_MODE | FAKE_GPU_VM_CREATE_TWO_PASS,
};

FIXTURE_SETUP(gpu)
{
	struct fake_gpu_info info = { 0 };
	unsigned int d;

	self->fd = open("/dev/fake_gpu", O_RDWR | O_CLOEXEC);
	ASSERT_LE(0, self->fd) TH_LOG("open /dev/fake_gpu: %s", strerror(errno));
	ASSERT_EQ(0, gpu_ioctl(self->fd, FAKE_GPU_IOCTL_INFO, &info));
	ASSERT_LE(variant->ndevs, info.num_devices);
	self->ndevs = variant->ndevs;
	for (d = 0; d < self->ndevs; d++)
		ASSERT_EQ(0, vm_create(self->fd, d, variant->flags, &self->vm[d]));
	self->len = NPAGES * page_size();
	self->buf = map_pattern(self->len);
	ASSERT_NE(NULL, self->buf);
}

FIXTURE_TEARDOWN(gpu)
{
	close(self->fd);
}

/* Bind @buf in each of the @ndevs VMs @vm. */
static int bind_bufs(int fd, unsigned int ndevs, const unsigned int *vm,
		     void *buf, size_t len, unsigned int *uptr)
{
	unsigned int d;

	for (d = 0; d < ndevs; d++)
		if (bind(fd, vm[d], buf, len, &uptr[d]))
			return -1;
	return 0;
}

/* Every device reads @expect at word @word of the buffer. */
#define ASSERT_GPU_READS(word, expect) do {					\
	unsigned long _w = (word);						\
	__u64 _v, _e = (expect);						\
	unsigned int _d;							\
	for (_d = 0; _d < self->ndevs; _d++) {					\
		ASSERT_EQ(0, gpu_read(self->fd, self->uptr[_d], _w * 8, &_v))	\
			TH_LOG("device %u word %lu", _d, _w);			\
		ASSERT_EQ(_e, _v)						\
			TH_LOG("device %u word %lu", _d, _w);			\
	}									\
} while (0)

TEST_F(gpu, bind_and_read)
{
	unsigned long w, words = self->len / 8;

	ASSERT_EQ(0, bind_bufs(self->fd, self->ndevs, self->vm, self->buf, self->len, self->uptr));
	for (w = 0; w < words; w += 61)
		ASSERT_GPU_READS(w, pattern(w));
	/* A mirror, not a copy: a CPU store is what the GPU reads next. */
	self->buf[3] = 0x1234;
	ASSERT_GPU_READS(3, 0x1234);
}

TEST_F(gpu, munmap_then_read_faults)
{
	struct fake_gpu_dev_stats before[MAX_DEVS], after;
	__u64 v;
	unsigned int d;

	ASSERT_EQ(0, bind_bufs(self->fd, self->ndevs, self->vm, self->buf, self->len, self->uptr));
	ASSERT_GPU_READS(5, pattern(5));
	for (d = 0; d < self->ndevs; d++)
		before[d] = stats(self->fd, d);
	ASSERT_EQ(0, munmap(self->buf, self->len));
	for (d = 0; d < self->ndevs; d++) {
		after = stats(self->fd, d);
		EXPECT_EQ(before[d].first_passes + 1, after.first_passes);
		EXPECT_EQ(-EFAULT, gpu_read(self->fd, self->uptr[d], 40, &v));
	}
}

/*
 * The notifiers wait for GPU jobs; two-pass ones in their second pass.
 * A job reads its VM's memory until it stops. On a VM without fault mode
 * nothing but the notifier's wait for the job keeps it off the pages, as
 * on xe, so these VMs are the test's own: no fault mode, and jobs that run
 * until munmap's notifier preempts them (JOB_STOP_US to stop).
 *
 * Two things make an attempt say nothing, and it is counted, not judged,
 * and the scenario runs again on a new buffer:
 * - An invalidation the test did not make (the SMP kernel's compaction
 *   migrating the buffer's pages) preempts the jobs before the munmap,
 *   whose first passes then find them done and defer nothing. It shows
 *   as more than one first pass since the VMs were made.
 * - A two-pass first pass requests the preemption and then looks at the
 *   job's fence. If the host deschedules that vCPU for longer than the
 *   job takes to stop (seen with two CI jobs on two host cores), the
 *   fence has signalled and nothing is deferred: no second pass.
 * A driver that never defers makes every attempt say nothing: the test
 * still fails then. Each attempt has a file of its own: closing it
 * removes its userptrs, whose notifiers would fire again if the next
 * attempt's buffer landed at the same address.
 */
#define JOB_ATTEMPTS	5
#define JOB_STOP_US	20000

TEST_F(gpu, job_waited_for_on_munmap)
{
	struct fake_gpu_dev_stats before[MAX_DEVS], after[MAX_DEVS];
	int two_pass = variant->flags & FAKE_GPU_VM_CREATE_TWO_PASS;
	unsigned int d, vm, uptr, attempt, disturbed, stopped;
	__u64 *buf = self->buf;
	int fd;

	for (attempt = 0; attempt < JOB_ATTEMPTS; attempt++) {
		if (attempt) {
			buf = map_pattern(self->len);
			ASSERT_NE(NULL, buf);
		}
		fd = open("/dev/fake_gpu", O_RDWR | O_CLOEXEC);
		ASSERT_LE(0, fd);
		for (d = 0; d < self->ndevs; d++) {
			before[d] = stats(fd, d);
			ASSERT_EQ(0, vm_create(fd, d, FAKE_GPU_VM_CREATE_PREEMPT_JOBS |
					       (two_pass ? FAKE_GPU_VM_CREATE_TWO_PASS : 0), &vm));
			ASSERT_EQ(0, bind(fd, vm, buf, self->len, &uptr));
			ASSERT_EQ(0, job(fd, vm, JOB_STOP_US));
		}
		ASSERT_EQ(0, munmap(buf, self->len));
		disturbed = 0;
		stopped = 0;
		for (d = 0; d < self->ndevs; d++) {
			after[d] = stats(fd, d);
			ASSERT_LE(before[d].first_passes + 1, after[d].first_passes);
			disturbed += after[d].first_passes - before[d].first_passes - 1;
			if (two_pass && after[d].finishes == before[d].finishes)
				stopped++;
		}
		close(fd);
		if (!disturbed && !stopped)
			break;
		TH_LOG("attempt %u: %u invalidation(s) not the test's, %u job(s) done first",
		       attempt, disturbed, stopped);
	}
	ASSERT_LT(attempt, JOB_ATTEMPTS)
		TH_LOG("every attempt had invalidations the test did not make or jobs done first");
	for (d = 0; d < self->ndevs; d++) {
		EXPECT_EQ(before[d].finishes + (two_pass ? 1 : 0), after[d].finishes);
		EXPECT_EQ(before[d].stale_accesses, after[d].stale_accesses)
			TH_LOG("device %u: a job read pages munmap gave back", d);
	}
}

TEST_F(gpu, fork_cow_parent_mirror_follows)
{
	unsigned long w1 = page_size() / 8;	/* first word of page 1 */
	int to_parent[2], to_child[2], status;
	char c = 0;
	pid_t pid;

	ASSERT_EQ(0, bind_bufs(self->fd, self->ndevs, self->vm, self->buf, self->len, self->uptr));
	ASSERT_EQ(0, pipe(to_parent));
	ASSERT_EQ(0, pipe(to_child));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		/* The child's write copies page 0 for the child only. */
		self->buf[0] = 0xc41d;
		if (write(to_parent[1], &c, 1) != 1 || read(to_child[0], &c, 1) != 1)
			_exit(2);
		/* The parent's later write to page 1 copied it for the parent. */
		_exit(self->buf[0] == 0xc41d && self->buf[w1] == pattern(w1) ? 0 : 1);
	}
	ASSERT_EQ(1, read(to_parent[0], &c, 1));
	/* The parent's mirror still shows the parent's page 0. */
	ASSERT_GPU_READS(0, pattern(0));
	/* Page 1 is still shared: the parent's write breaks COW in the parent. */
	self->buf[w1] = 0x9a7e;
	ASSERT_GPU_READS(w1, 0x9a7e);
	ASSERT_EQ(1, write(to_child[1], &c, 1));
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
}

TEST_F(gpu, mremap_moves_away)
{
	unsigned int d, moved[MAX_DEVS];
	__u64 v, *dst;

	ASSERT_EQ(0, bind_bufs(self->fd, self->ndevs, self->vm, self->buf, self->len, self->uptr));
	dst = mmap(NULL, self->len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, dst);
	ASSERT_EQ(dst, mremap(self->buf, self->len, self->len,
			      MREMAP_MAYMOVE | MREMAP_FIXED, dst));
	for (d = 0; d < self->ndevs; d++) {
		/* Nothing is mapped at the old address any more. */
		EXPECT_EQ(-EFAULT, gpu_read(self->fd, self->uptr[d], 0, &v));
		ASSERT_EQ(0, bind(self->fd, self->vm[d], dst, self->len, &moved[d]));
		ASSERT_EQ(0, gpu_read(self->fd, moved[d], 7 * 8, &v));
		EXPECT_EQ(pattern(7), v);
	}
}

TEST_F(gpu, mprotect_read_only_and_back)
{
	struct fake_gpu_dev_stats before[MAX_DEVS], after;
	unsigned int d;

	ASSERT_EQ(0, bind_bufs(self->fd, self->ndevs, self->vm, self->buf, self->len, self->uptr));
	for (d = 0; d < self->ndevs; d++)
		before[d] = stats(self->fd, d);
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ));
	for (d = 0; d < self->ndevs; d++) {
		after = stats(self->fd, d);
		EXPECT_LT(before[d].first_passes, after.first_passes);
	}
	/* Read-only pages still mirror for GPU reads. */
	ASSERT_GPU_READS(9, pattern(9));
	ASSERT_EQ(0, mprotect(self->buf, self->len, PROT_READ | PROT_WRITE));
	self->buf[9] = 0x7e57;
	ASSERT_GPU_READS(9, 0x7e57);
}

TEST_F(gpu, madv_dontneed_zeroes)
{
	ASSERT_EQ(0, bind_bufs(self->fd, self->ndevs, self->vm, self->buf, self->len, self->uptr));
	ASSERT_GPU_READS(11, pattern(11));
	ASSERT_EQ(0, madvise(self->buf, self->len, MADV_DONTNEED));
	/* Fresh zero pages; the dropped ones may be reused by anyone. */
	ASSERT_GPU_READS(11, 0);
	ASSERT_GPU_READS(self->len / 8 - 1, 0);
}

/* A child mirrors, leaves jobs running and exits: exit_mmap()'s walk. */
TEST_F(gpu, exit_with_bound_userptrs)
{
	struct fake_gpu_dev_stats before[MAX_DEVS], after;
	unsigned int d;
	int status;
	pid_t pid;

	for (d = 0; d < self->ndevs; d++)
		before[d] = stats(self->fd, d);
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid) {
		int fd = open("/dev/fake_gpu", O_RDWR);
		unsigned int vm, uptr;
		__u64 *buf = map_pattern(self->len), v;

		if (fd < 0 || !buf)
			_exit(2);
		for (d = 0; d < self->ndevs; d++) {
			if (vm_create(fd, d, variant->flags, &vm) ||
			    bind(fd, vm, buf, self->len, &uptr) ||
			    gpu_read(fd, uptr, 8, &v) || v != pattern(1) ||
			    job(fd, vm, 5000))
				_exit(3);
		}
		_exit(0);	/* no munmap, no close */
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, WEXITSTATUS(status));
	for (d = 0; d < self->ndevs; d++) {
		after = stats(self->fd, d);
		EXPECT_LT(before[d].first_passes, after.first_passes) TH_LOG("device %u", d);
	}
}

/*
 * Threads read through the GPUs while another unmaps the buffer and maps
 * new anonymous pages there, with data of their own generation. The
 * generation counter is odd while the buffer changes and even (2 * gen)
 * once generation gen is mapped and written: a read that starts and ends
 * inside one even window must return that generation's word, so a stale
 * translation, which reads an older generation's page, reads a wrong word.
 */
#define READERS		8
#define REMAPS		200

static __u64 gen_pattern(unsigned long gen, unsigned long word)
{
	return 0xfa4e000000000000ull | (__u64)gen << 24 | word;
}

struct hammer {
	int fd;
	unsigned int uptr[MAX_DEVS];
	unsigned int ndevs;
	size_t len;
	int stop;
	unsigned long window;	/* 2 * gen, odd while changing */
	unsigned long reads, faults, wrong;
	pthread_mutex_t lock;
};

/* Whether @v is a word the buffer held between windows @w0 and @w1. */
static int hammer_word_ok(__u64 v, unsigned long word, unsigned long w0,
			  unsigned long w1)
{
	unsigned long gen;

	if (w0 == w1 && !(w0 & 1))
		return v == gen_pattern(w0 / 2, word);
	/* Across a change: an old or new generation, or a page not written yet. */
	for (gen = w0 / 2; gen <= (w1 + 1) / 2; gen++)
		if (v == gen_pattern(gen, word))
			return 1;
	return v == 0;
}

static void *hammer_reader(void *arg)
{
	struct hammer *h = arg;
	unsigned long reads = 0, faults = 0, wrong = 0, n = 0, w0, w1;
	unsigned int seed = (uintptr_t)&n;
	__u64 v, off;
	int ret;

	while (!__atomic_load_n(&h->stop, __ATOMIC_RELAXED)) {
		off = (rand_r(&seed) % (h->len / 8)) * 8;
		w0 = __atomic_load_n(&h->window, __ATOMIC_ACQUIRE);
		ret = gpu_read(h->fd, h->uptr[n++ % h->ndevs], off, &v);
		w1 = __atomic_load_n(&h->window, __ATOMIC_ACQUIRE);
		if (!ret && hammer_word_ok(v, off / 8, w0, w1))
			reads++;
		else if ((ret == -EFAULT || ret == -EAGAIN) && (w0 != w1 || (w0 & 1)))
			faults++;	/* unmapped just then */
		else
			wrong++;
	}
	pthread_mutex_lock(&h->lock);
	h->reads += reads;
	h->faults += faults;
	h->wrong += wrong;
	pthread_mutex_unlock(&h->lock);
	return NULL;
}

/* Map generation @gen's pages at @buf and write their words. */
static int hammer_map(void *buf, size_t len, unsigned long gen)
{
	__u64 *p = mmap(buf, len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	size_t i;

	if (p != buf)
		return -1;
	for (i = 0; i < len / 8; i++)
		p[i] = gen_pattern(gen, i);
	return 0;
}

/*
 * 200 munmaps with 8 devices and 8 readers: a few seconds on an idle
 * host, more than the harness's default 30 s on a loaded one (QEMU's
 * TCG beside another CI job). The bound is a hang detector, not a speed
 * check.
 */
TEST_F_TIMEOUT(gpu, threads_read_while_remapping, 180)
{
	struct hammer h = { .fd = self->fd, .ndevs = self->ndevs, .len = self->len };
	pthread_t readers[READERS];
	unsigned int d, i;
	void *buf = self->buf;

	ASSERT_EQ(0, munmap(buf, self->len));
	ASSERT_EQ(0, hammer_map(buf, self->len, 0));
	for (d = 0; d < self->ndevs; d++)
		ASSERT_EQ(0, bind(self->fd, self->vm[d], buf, self->len, &h.uptr[d]));
	pthread_mutex_init(&h.lock, NULL);
	for (i = 0; i < READERS; i++)
		ASSERT_EQ(0, pthread_create(&readers[i], NULL, hammer_reader, &h));
	for (i = 1; i <= REMAPS; i++) {
		__atomic_store_n(&h.window, 2 * i - 1, __ATOMIC_RELEASE);
		ASSERT_EQ(0, munmap(buf, self->len));
		usleep(100);
		ASSERT_EQ(0, hammer_map(buf, self->len, i));
		__atomic_store_n(&h.window, 2 * i, __ATOMIC_RELEASE);
		usleep(200);
	}
	__atomic_store_n(&h.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < READERS; i++)
		pthread_join(readers[i], NULL);
	TH_LOG("%lu reads, %lu faults, %lu wrong", h.reads, h.faults, h.wrong);
	EXPECT_EQ(0ul, h.wrong);
	EXPECT_LT(0ul, h.reads);
	EXPECT_LT(0ul, h.faults);
}

/* --- argument validation ------------------------------------------------- */

struct bad_size {
	__u32 a;
};

/* A test device: a character device for root only (docs/userspace.md says why). */
TEST(device_node_root_only)
{
	struct stat st;

	ASSERT_EQ(0, stat("/dev/fake_gpu", &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
}

TEST(ioctl_arguments_validated)
{
	long page = page_size();
	struct fake_gpu_info info;
	struct fake_gpu_vm_create vc;
	struct fake_gpu_userptr_bind b;
	struct fake_gpu_read r;
	struct fake_gpu_dev_stats st, st0;
	unsigned int vm, uptr, id, i;
	char *buf, *ro, *gap, *half;
	__u64 v;
	int fd, fd2, status;

	fd = open("/dev/fake_gpu", O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, gpu_ioctl(fd, FAKE_GPU_IOCTL_INFO, &info));
	st0 = stats(fd, 0);

	/* Commands */
	EXPECT_EQ(-ENOTTY, gpu_ioctl(fd, _IOWR(FAKE_GPU_IOCTL_BASE, 0x40, struct fake_gpu_info),
				     &info));
	EXPECT_EQ(-ENOTTY, gpu_ioctl(fd, _IOR('x', 0, struct fake_gpu_info), &info));
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, _IOWR(FAKE_GPU_IOCTL_BASE, 0x01, struct bad_size),
				     &info));
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, _IOW(FAKE_GPU_IOCTL_BASE, 0x00, struct fake_gpu_info),
				     &info));
	EXPECT_EQ(-EFAULT, gpu_ioctl(fd, FAKE_GPU_IOCTL_VM_CREATE, NULL));
	EXPECT_EQ(-EFAULT, gpu_ioctl(fd, FAKE_GPU_IOCTL_INFO, (void *)8));

	/* VM creation */
	vc = (struct fake_gpu_vm_create){ .pad = 1 };
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, FAKE_GPU_IOCTL_VM_CREATE, &vc));
	vc = (struct fake_gpu_vm_create){ .vm_id = 5 };
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, FAKE_GPU_IOCTL_VM_CREATE, &vc));
	EXPECT_EQ(-EINVAL, vm_create(fd, 0, 1u << 7, &vm));
	EXPECT_EQ(-ENODEV, vm_create(fd, info.num_devices, 0, &vm));
	EXPECT_EQ(-ENODEV, vm_create(fd, ~0u, 0, &vm));
	/* The result cannot be copied out: the VM is undone. */
	ro = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, ro);
	memset(ro, 0, page);
	ASSERT_EQ(0, mprotect(ro, page, PROT_READ));
	EXPECT_EQ(-EFAULT, gpu_ioctl(fd, FAKE_GPU_IOCTL_VM_CREATE, ro));
	/* None of that created anything: the first VM gets the first id. */
	ASSERT_EQ(0, vm_create(fd, 0, FAKE_GPU_VM_CREATE_TWO_PASS, &vm));
	EXPECT_EQ(1, vm);

	/* Binding */
	buf = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, buf);
	gap = mmap(NULL, 2 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, gap);
	EXPECT_EQ(-ENOENT, bind(fd, 99, buf, page, &uptr));
	EXPECT_EQ(-ENOENT, bind(fd, 0, buf, page, &uptr));
	EXPECT_EQ(-EINVAL, bind(fd, vm, buf + 8, page, &uptr));
	EXPECT_EQ(-EINVAL, bind(fd, vm, buf, page + 8, &uptr));
	EXPECT_EQ(-EINVAL, bind(fd, vm, buf, 0, &uptr));
	EXPECT_EQ(-EINVAL, bind(fd, vm, (void *)(uintptr_t)-page, 2 * page, &uptr));
	EXPECT_EQ(-EINVAL, bind(fd, vm, (void *)(1ul << 62), page, &uptr));
	EXPECT_EQ(-EINVAL, bind(fd, vm, buf, (size_t)FAKE_GPU_MAX_USERPTR_LEN_UAPI + page, &uptr));
	EXPECT_EQ(-EFAULT, bind(fd, vm, gap, 2 * page, &uptr));	/* PROT_NONE */
	ASSERT_EQ(0, munmap(gap, 2 * page));
	EXPECT_EQ(-EFAULT, bind(fd, vm, gap, 2 * page, &uptr));	/* not mapped */
	/* Half mapped: the pages after a mapping may belong to another one. */
	half = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, half);
	ASSERT_EQ(0, munmap(half + 2 * page, 2 * page));
	EXPECT_EQ(-EFAULT, bind(fd, vm, half, 4 * page, &uptr));
	ASSERT_EQ(0, munmap(half, 2 * page));
	b = (struct fake_gpu_userptr_bind){ .addr = (uintptr_t)buf, .length = page,
					    .vm_id = vm, .userptr_id = 3 };
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, FAKE_GPU_IOCTL_USERPTR_BIND, &b));
	ASSERT_EQ(0, bind(fd, vm, buf, 4 * page, &uptr));
	EXPECT_EQ(1, uptr);

	/* Jobs */
	EXPECT_EQ(-ENOENT, job(fd, 99, 10));
	EXPECT_EQ(-EINVAL, job(fd, vm, FAKE_GPU_MAX_JOB_US_UAPI + 1));

	/* Reads */
	EXPECT_EQ(-ENOENT, gpu_read(fd, 99, 0, &v));
	EXPECT_EQ(-EINVAL, gpu_read(fd, uptr, 4, &v));
	EXPECT_EQ(-EINVAL, gpu_read(fd, uptr, 4 * page, &v));
	EXPECT_EQ(-EINVAL, gpu_read(fd, uptr, ~0ull & ~7ull, &v));
	r = (struct fake_gpu_read){ .userptr_id = uptr, .pad = 1 };
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, FAKE_GPU_IOCTL_READ, &r));
	r = (struct fake_gpu_read){ .userptr_id = uptr, .value = 1 };
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, FAKE_GPU_IOCTL_READ, &r));

	/* Counters */
	st = (struct fake_gpu_dev_stats){ .device = info.num_devices };
	EXPECT_EQ(-ENODEV, gpu_ioctl(fd, FAKE_GPU_IOCTL_STATS, &st));
	st = (struct fake_gpu_dev_stats){ .pad = 1 };
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, FAKE_GPU_IOCTL_STATS, &st));
	st = (struct fake_gpu_dev_stats){ .finishes = 1 };
	EXPECT_EQ(-EINVAL, gpu_ioctl(fd, FAKE_GPU_IOCTL_STATS, &st));

	/* Another file's ids mean nothing here. */
	fd2 = open("/dev/fake_gpu", O_RDWR);
	ASSERT_LE(0, fd2);
	EXPECT_EQ(-ENOENT, gpu_read(fd2, uptr, 0, &v));
	EXPECT_EQ(-ENOENT, bind(fd2, vm, buf, page, &id));
	EXPECT_EQ(-ENOENT, job(fd2, vm, 10));

	/*
	 * None of the failures above ran a notifier or a second pass on
	 * device 0. (A bind that failed after creating its userptr flushed
	 * the range from the TLB while tearing it down: inval_submitted may
	 * move, harmlessly.)
	 */
	st = stats(fd, 0);
	EXPECT_EQ(st0.first_passes, st.first_passes);
	EXPECT_EQ(st0.finishes, st.finishes);

	/* A VM of another process, through an inherited file. */
	if (!fork()) {
		char *mine = mmap(NULL, page, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		_exit(bind(fd, vm, mine, page, &id) == -EINVAL ? 0 : 1);
	}
	wait(&status);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	/* Per-file limits: the 64 VMs fit, the 65th does not. */
	for (i = 2; i <= FAKE_GPU_MAX_VMS_PER_FILE; i++)
		ASSERT_EQ(0, vm_create(fd2, i % info.num_devices, 0, &id));
	ASSERT_EQ(0, vm_create(fd2, 0, 0, &id));
	EXPECT_EQ(FAKE_GPU_MAX_VMS_PER_FILE, id);
	EXPECT_EQ(-ENOSPC, vm_create(fd2, 0, 0, &id));

	/* Still usable after all that. */
	ASSERT_EQ(0, gpu_read(fd, uptr, 0, &v));
	close(fd2);
	close(fd);
}

/* --- fuzzing ---------------------------------------------------------- */

static const unsigned long fuzz_cmds[] = {
	FAKE_GPU_IOCTL_INFO, FAKE_GPU_IOCTL_VM_CREATE, FAKE_GPU_IOCTL_USERPTR_BIND,
	FAKE_GPU_IOCTL_JOB_SUBMIT, FAKE_GPU_IOCTL_READ, FAKE_GPU_IOCTL_STATS,
};

static __u64 fuzz_rand(__u64 *s)
{
	/* xorshift64*: reproducible from the printed seed on any libc. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

static __u32 fuzz_word(__u64 *s, uintptr_t arena, long page)
{
	static const __u32 edges[] = { 0xffffffff, 0x80000000, 0x7fffffff, 4096,
					  4095, 8, 64, 65, 1024, 1025 };

	switch (fuzz_rand(s) % 4) {
	case 0:
		return fuzz_rand(s) % 4;
	case 1:
		return fuzz_rand(s);
	case 2:
		return edges[fuzz_rand(s) % ARRAY_SIZE(edges)];
	default:	/* somewhere in or near the mapped arena */
		return (__u32)(arena + (fuzz_rand(s) % 20) * page);
	}
}

static int fuzz_errno_ok(int err)
{
	return err == ENOTTY || err == EINVAL || err == EFAULT || err == ENODEV ||
	       err == ENOENT || err == ENOSPC || err == EAGAIN || err == ENOMEM;
}

FIXTURE(fuzz) {
	int unused;
};

FIXTURE_SETUP(fuzz)
{
}

FIXTURE_TEARDOWN(fuzz)
{
}

/*
 * The fuzz cases' seed and iterations: fake_gpu_fuzz_seed= and
 * fake_gpu_fuzz_iters= on the kernel command line (init passes them on),
 * else a seed from the clock. The seed is printed: booting with it runs
 * the same operations again. Their timeouts detect hangs, not slowness:
 * threads_share_a_file's 20000 iterations took more than 300 s in the
 * smp profile on a host running two more CI jobs.
 */
static __u64 fuzz_seed(const char *name, unsigned long *iters)
{
	const char *env_seed = getenv("fake_gpu_fuzz_seed");
	const char *env_iters = getenv("fake_gpu_fuzz_iters");
	__u64 seed = env_seed ? strtoull(env_seed, NULL, 0) : 0;

	*iters = env_iters ? strtoul(env_iters, NULL, 0) : 20000;
	if (!seed) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ts.tv_sec * 1000000007ull + ts.tv_nsec;
	}
	ksft_print_msg("%s seed=%llu iterations=%lu\n", name,
		       (unsigned long long)seed, *iters);
	return seed;
}

TEST_F_TIMEOUT(fuzz, random_ioctls, 600)
{
	unsigned long i, iters, ok = 0, failed = 0, bad = 0;
	long page = page_size();
	__u64 s, arg[16];
	unsigned long cmd;
	void *ptr;
	char *arena;
	int fd, w;

	s = fuzz_seed("fuzz", &iters) | 1;

	arena = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, arena);
	memset(arena, 0x5a, 16 * page);
	fd = open("/dev/fake_gpu", O_RDWR);
	ASSERT_LE(0, fd);
	for (i = 0; i < iters; i++) {
		switch (fuzz_rand(&s) % 4) {
		case 0:
		case 1:
			cmd = fuzz_cmds[fuzz_rand(&s) % ARRAY_SIZE(fuzz_cmds)];
			break;
		case 2:		/* our type, any number, size and direction */
			cmd = _IOC(fuzz_rand(&s) % 4, FAKE_GPU_IOCTL_BASE,
				   fuzz_rand(&s) % 16, fuzz_rand(&s) % 64);
			break;
		default:
			cmd = (__u32)fuzz_rand(&s);
		}
		for (w = 0; w < 32; w++)
			((__u32 *)arg)[w] = fuzz_word(&s, (uintptr_t)arena, page);
		/* Addresses and lengths in the arena reach hmm_range_fault(). */
		if (fuzz_rand(&s) % 2) {
			arg[0] = (uintptr_t)arena + (fuzz_rand(&s) % 16) * page;
			arg[1] = (fuzz_rand(&s) % 17) * page;
		}
		/* Never run a long job: closing the file would wait for it. */
		if (cmd == FAKE_GPU_IOCTL_JOB_SUBMIT)
			((__u32 *)arg)[1] %= 2000;
		switch (fuzz_rand(&s) % 16) {
		case 0:
			ptr = NULL;
			break;
		case 1:
			ptr = (void *)(uintptr_t)fuzz_rand(&s);
			break;
		case 2:		/* straddles the end of the arena */
			ptr = arena + 16 * page - 8;
			break;
		default:
			ptr = arg;
		}
		if (!ioctl(fd, cmd, ptr))
			ok++;
		else if (fuzz_errno_ok(errno))
			failed++;
		else if (bad++ < 10)
			TH_LOG("iteration %lu: cmd %#lx: unexpected errno %d", i, cmd, errno);
		/* Release a file full of objects now and then. */
		if (i % 2000 == 1999) {
			close(fd);
			fd = open("/dev/fake_gpu", O_RDWR);
			ASSERT_LE(0, fd);
		}
	}
	close(fd);
	ksft_print_msg("fuzz: %lu succeeded, %lu refused, %lu unexpected\n", ok, failed, bad);
	EXPECT_EQ(0, bad);
	EXPECT_LT(0, ok);
}

/*
 * Threads sharing one file. Ids are small and predictable, so every thread
 * guesses them: it uses VMs and userptrs the others are creating, and
 * creates its own with the argument on a read-only page now and then, so
 * that the kernel's copy-out fails after the object was made. Other
 * threads meanwhile invalidate the shared arena (MADV_DONTNEED, mprotect,
 * munmap and map again) and replace the shared file under the ioctls in
 * flight. An object reachable through its id before the ioctl that made
 * it has succeeded is used after it is freed: a KASAN report on the
 * console. Each thread's operations follow from the seed and its index.
 */
#define MT_THREADS	6
#define MT_IDS		6	/* ids guessed: 1..MT_IDS */
#define MT_ARENA	16	/* pages */

struct mt_shared {
	int fd;			/* replaced with dup2() while in use */
	unsigned int ndevs;
	char *arena;
	long page;
	__u64 seed;
	unsigned long iters;
};

struct mt_thread {
	struct mt_shared *sh;
	unsigned int index;
	char *ro;		/* a page this thread keeps read-only */
	unsigned long ok, refused, copy_faults, bad;
	unsigned long bad_cmd;
	int bad_errno;
};

/* Put @len bytes of @arg where the kernel reads it: here, or a read-only page. */
static void *mt_arg(struct mt_thread *t, __u64 *s, void *arg, size_t len)
{
	if (fuzz_rand(s) % 3)
		return arg;
	if (mprotect(t->ro, t->sh->page, PROT_READ | PROT_WRITE))
		return arg;
	memcpy(t->ro, arg, len);
	mprotect(t->ro, t->sh->page, PROT_READ);
	return t->ro;
}

/* Invalidate part of the arena, as the process' own mm changes do. */
static void mt_invalidate(struct mt_shared *sh, __u64 *s)
{
	unsigned long first = fuzz_rand(s) % MT_ARENA;
	unsigned long n = 1 + fuzz_rand(s) % (MT_ARENA - first);
	char *p = sh->arena + first * sh->page;
	size_t len = n * sh->page;

	switch (fuzz_rand(s) % 3) {
	case 0:
		madvise(p, len, MADV_DONTNEED);
		break;
	case 1:
		mprotect(p, len, PROT_READ);
		mprotect(p, len, PROT_READ | PROT_WRITE);
		break;
	default:
		munmap(p, len);
		mmap(p, len, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	}
}

static void *mt_fuzz_thread(void *data)
{
	struct mt_thread *t = data;
	struct mt_shared *sh = t->sh;
	__u64 s = (sh->seed ^ (0x9e3779b97f4a7c15ull * (t->index + 1))) | 1;
	unsigned long i, cmd;
	int fd, ret;

	for (i = 0; i < sh->iters; i++) {
		union {
			struct fake_gpu_vm_create vm;
			struct fake_gpu_userptr_bind bind;
			struct fake_gpu_job_submit job;
			struct fake_gpu_read read;
		} a;
		void *ptr;

		memset(&a, 0, sizeof(a));
		switch (fuzz_rand(&s) % 8) {
		case 0:
		case 1:
			cmd = FAKE_GPU_IOCTL_VM_CREATE;
			a.vm.device = fuzz_rand(&s) % sh->ndevs;
			a.vm.flags = fuzz_rand(&s) % 4;
			ptr = mt_arg(t, &s, &a, sizeof(a.vm));
			break;
		case 2:
		case 3:
			cmd = FAKE_GPU_IOCTL_USERPTR_BIND;
			a.bind.vm_id = 1 + fuzz_rand(&s) % MT_IDS;
			a.bind.addr = (uintptr_t)sh->arena +
				      (fuzz_rand(&s) % MT_ARENA) * sh->page;
			a.bind.length = (1 + fuzz_rand(&s) % 4) * sh->page;
			ptr = mt_arg(t, &s, &a, sizeof(a.bind));
			break;
		case 4:
			cmd = FAKE_GPU_IOCTL_READ;
			a.read.userptr_id = 1 + fuzz_rand(&s) % MT_IDS;
			a.read.offset = (fuzz_rand(&s) % 512) * 8;
			ptr = mt_arg(t, &s, &a, sizeof(a.read));
			break;
		case 5:
			cmd = FAKE_GPU_IOCTL_JOB_SUBMIT;
			a.job.vm_id = 1 + fuzz_rand(&s) % MT_IDS;
			a.job.duration_us = fuzz_rand(&s) % 200;
			ptr = &a;
			break;
		case 6:
			mt_invalidate(sh, &s);
			continue;
		default:
			/* A new file under the others' feet, now and then. */
			if (fuzz_rand(&s) % 16)
				continue;
			fd = open("/dev/fake_gpu", O_RDWR);
			if (fd < 0 || dup2(fd, sh->fd) < 0)
				t->bad++;
			if (fd >= 0)
				close(fd);
			continue;
		}
		ret = gpu_ioctl(sh->fd, cmd, ptr);
		if (!ret) {
			t->ok++;
		} else if (ret == -EFAULT && ptr == t->ro &&
			   cmd == FAKE_GPU_IOCTL_VM_CREATE) {
			t->copy_faults++;
		} else if (fuzz_errno_ok(-ret)) {
			t->refused++;
		} else if (!t->bad++) {
			t->bad_cmd = cmd;
			t->bad_errno = -ret;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(fuzz, threads_share_a_file, 600)
{
	struct fake_gpu_info info = { 0 };
	struct mt_thread t[MT_THREADS];
	pthread_t tid[MT_THREADS];
	unsigned long ok = 0, copy_faults = 0;
	struct mt_shared sh;
	unsigned int i;

	sh.seed = fuzz_seed("fuzz threads", &sh.iters);
	sh.iters /= MT_THREADS;
	sh.page = page_size();
	sh.arena = mmap(NULL, MT_ARENA * sh.page, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, sh.arena);
	memset(sh.arena, 0x5a, MT_ARENA * sh.page);
	sh.fd = open("/dev/fake_gpu", O_RDWR);
	ASSERT_LE(0, sh.fd);
	ASSERT_EQ(0, gpu_ioctl(sh.fd, FAKE_GPU_IOCTL_INFO, &info));
	sh.ndevs = info.num_devices < 2 ? info.num_devices : 2;

	for (i = 0; i < MT_THREADS; i++) {
		memset(&t[i], 0, sizeof(t[i]));
		t[i].sh = &sh;
		t[i].index = i;
		t[i].ro = mmap(NULL, sh.page, PROT_READ,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		ASSERT_NE(MAP_FAILED, t[i].ro);
	}
	for (i = 0; i < MT_THREADS; i++)
		ASSERT_EQ(0, pthread_create(&tid[i], NULL, mt_fuzz_thread, &t[i]));
	for (i = 0; i < MT_THREADS; i++) {
		pthread_join(tid[i], NULL);
		EXPECT_EQ(0, t[i].bad)
			TH_LOG("thread %u: cmd %#lx: unexpected errno %d (%lu times)",
			       i, t[i].bad_cmd, t[i].bad_errno, t[i].bad);
		ok += t[i].ok;
		copy_faults += t[i].copy_faults;
	}
	close(sh.fd);
	ksft_print_msg("fuzz threads: %lu succeeded, %lu VM_CREATE failed their copy-out\n",
		       ok, copy_faults);
	/* Both kinds happened, or the case tested nothing. */
	EXPECT_LT(0, ok);
	EXPECT_LT(0, copy_faults);
}

/* --- leaks: must run last ------------------------------------------------ */

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY), ret;

	if (fd < 0)
		return -1;
	ret = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return ret;
}

/*
 * Every earlier case has exited and closed its files; whatever they
 * allocated must be gone. kmemleak reports objects older than 5 s only.
 */
TEST_F_TIMEOUT(fuzz, zz_no_leaks, 120)
{
	const char *path = "/sys/kernel/debug/kmemleak";
	char text[4096];
	int fd, i;
	ssize_t n;

	mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	if (access(path, F_OK))
		SKIP(return, "no kmemleak in this kernel (the leak profile has it)");
	sleep(6);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(0, write_file(path, "scan"));
	fd = open(path, O_RDONLY);
	ASSERT_LE(0, fd);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	ASSERT_LE(0, n);
	text[n > 0 ? n : 0] = 0;
	EXPECT_EQ(0, n) TH_LOG("kmemleak:\n%s", text);
}

TEST_HARNESS_MAIN
