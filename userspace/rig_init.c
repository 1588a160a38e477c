// SPDX-License-Identifier: GPL-2.0-only
/*
 * init for the rig's userspace boots, under UML and under QEMU.
 *
 * The root holds this program and the test programs: a host directory
 * (hostfs) under UML, an initramfs under QEMU. Mount what the tests need,
 * run each program given on the command line in turn, then power off:
 * init must never exit, or the kernel panics. Under QEMU, rig_shutdown=reboot
 * asks for a reboot instead, on which QEMU exits (-no-reboot): a machine
 * without ACPI cannot power off.
 *
 * A program's output (KTAP) must reach the console, where the rig's splat
 * gate reads it together with the kernel's messages, in whole lines: on
 * the one console a kernel message printed while a program writes a line
 * lands inside that line (seen: a PS/2 probe inside "TAP version 13"), and
 * a result broken inside "not ok" is lost. So each program runs on a
 * pseudo-terminal (it line-buffers its output as it would on the console),
 * and init writes every line it reads there to /dev/kmsg as one record,
 * which the kernel prints whole. The boot passes printk.devkmsg=on, or
 * the kernel would rate-limit the records. Without /dev/kmsg or a pty,
 * init falls back to the console itself.
 *
 * A line reaches the log through the pty only once init has read it: a
 * kernel report the program causes right after printing it may come
 * first. The rig's own programs see rig_kmsg=1 in their environment and
 * write to /dev/kmsg themselves, line-buffered, so their lines and the
 * kernel's stay in order; the pty is for the others (hmm-tests).
 *
 * Run as any other process than PID 1 (the runner's self-test), init
 * mounts nothing, appends its records, a line each, to the file named by
 * $rig_records instead of /dev/kmsg, and exits instead of powering off.
 *
 * The kernel passes its unknown "name=value" boot parameters to init as
 * environment variables; the programs inherit them (fake_gpu_fuzz_seed=).
 * An argument "/prog,-r,name" runs /prog with the arguments "-r name": a
 * kernel command line word has no spaces, test names have no commas.
 */
#define _GNU_SOURCE	/* ptsname_r() */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

extern char **environ;

/*
 * A /dev/kmsg record holds at most about 1000 bytes of text: a longer line
 * goes out in pieces of this size, each still whole.
 */
#define RECORD_MAX 900

static int kmsg = -1;
/* Not PID 1: records go to a file, a line each (see the top). */
static int self_test;

/* Write @len bytes of @line as one kernel log record (notice level). */
static void emit(const char *line, size_t len)
{
	char rec[RECORD_MAX + 8];

	do {
		size_t n = len < RECORD_MAX ? len : RECORD_MAX;

		memcpy(rec, "<5>", 3);
		memcpy(rec + 3, line, n);
		rec[n + 3] = '\n';
		if (kmsg < 0 || write(kmsg, rec, n + 3 + self_test) < 0) {
			if (write(STDOUT_FILENO, rec + 3, n + 1) < 0)
				return;
		}
		line += n;
		len -= n;
	} while (len);
}

/* printf() into one record. */
static void say(const char *fmt, ...)
{
	char buf[RECORD_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		emit(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/*
 * Copy what program @pid writes on the pty @master to the kernel log, a
 * record per line, until every writer has closed the pty (read() fails
 * with EIO then), or @pid has exited and what it wrote is read: a process
 * it left behind (a test's child stuck on a broken kernel) may hold the
 * pty open for ever, and init must go on. Return @pid's wait status, or
 * -1 if @pid was not waited for.
 */
static int forward(int master, pid_t pid)
{
	static char buf[RECORD_MAX * 4];
	int status = -1, exited = 0;
	size_t have = 0;

	for (;;) {
		struct pollfd pfd = { .fd = master, .events = POLLIN };
		char *start = buf, *nl;
		ssize_t n;

		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = 1;
		/* Once it has exited, only what is already there. */
		n = poll(&pfd, 1, exited ? 0 : 100);
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			if (exited)
				break;
			continue;
		}
		n = read(master, buf + have, sizeof(buf) - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += n;
		while ((nl = memchr(start, '\n', have - (start - buf)))) {
			emit(start, nl - start);
			start = nl + 1;
		}
		have -= start - buf;
		memmove(buf, start, have);
		if (have == sizeof(buf)) {	/* a line longer than the buffer */
			emit(buf, have);
			have = 0;
		}
	}
	if (have)
		emit(buf, have);
	return exited ? status : -1;
}

/*
 * A pty for a program's output, its master end returned and its slave's
 * name in @slave; -1 if there is none (no devpts).
 */
static int open_pty(char *slave, size_t size)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);

	if (master < 0)
		return -1;
	if (grantpt(master) || unlockpt(master) ||
	    ptsname_r(master, slave, size)) {
		close(master);
		return -1;
	}
	return master;
}

/* In the child: the pty @slave as stdin, stdout and stderr, raw output. */
static void use_pty(const char *slave)
{
	struct termios t;
	int fd;

	setsid();
	fd = open(slave, O_RDWR);
	if (fd < 0)
		return;
	if (!tcgetattr(fd, &t)) {
		t.c_oflag &= ~OPOST;	/* "\n", not "\r\n" */
		t.c_lflag &= ~ECHO;
		tcsetattr(fd, TCSANOW, &t);
	}
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
}

static void mount_fs(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, 0, NULL) && errno != EBUSY)
		say("rig_init: mount %s on %s: %s", type, dir, strerror(errno));
}

/* Split @word at its commas into @args (at most @max, NULL-terminated). */
static void split_args(char *word, char **args, int max)
{
	int n = 0;

	for (args[n++] = word; *word && n < max - 1; word++) {
		if (*word == ',') {
			*word = '\0';
			args[n++] = word + 1;
		}
	}
	args[n] = NULL;
}

int main(int argc, char **argv)
{
	const char *shutdown = getenv("rig_shutdown");
	int i, status;
	pid_t pid;

	self_test = getpid() != 1;
	if (self_test) {
		const char *records = getenv("rig_records");

		kmsg = records ? open(records, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
				      0644) : -1;
		if (kmsg < 0)
			return 2;
		goto run;
	}
	mount_fs("proc", "/proc", "proc");
	mount_fs("sysfs", "/sys", "sysfs");
	mount_fs("devtmpfs", "/dev", "devtmpfs");
	mount_fs("debugfs", "/sys/kernel/debug", "debugfs");
	mount_fs("tmpfs", "/tmp", "tmpfs");
	mount_fs("devpts", "/dev/pts", "devpts");

	kmsg = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	if (kmsg < 0)
		say("rig_init: /dev/kmsg: %s; output goes to the console as it is",
		    strerror(errno));
	else
		setenv("rig_kmsg", "1", 1);	/* our programs write there themselves */
run:
	for (i = 1; i < argc; i++) {
		char *args[64], slave[64];
		int master = kmsg < 0 ? -1 : open_pty(slave, sizeof(slave));

		split_args(argv[i], args, 64);
		fflush(NULL);
		pid = fork();
		if (pid == 0) {
			if (master >= 0) {
				close(master);
				use_pty(slave);
			}
			execve(args[0], args, environ);
			say("rig_init: exec %s: %s", argv[i], strerror(errno));
			_exit(127);
		}
		status = -1;
		if (master >= 0) {
			if (pid > 0)
				status = forward(master, pid);
			close(master);
		}
		if (pid < 0 || (status == -1 && waitpid(pid, &status, 0) != pid)) {
			say("rig_init: cannot run %s", argv[i]);
			continue;
		}
		say("rig_init: %s exited with %d", argv[i],
		    WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	if (self_test)
		return 0;
	fflush(NULL);
	sync();
	reboot(shutdown && !strcmp(shutdown, "reboot") ? RB_AUTOBOOT : RB_POWER_OFF);
	return 0;
}
