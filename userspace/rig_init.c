// SPDX-License-Identifier: GPL-2.0-only
/*
 * init for the rig's userspace boots, under UML and under QEMU.
 *
 * The root holds this program and the test programs: a host directory
 * (hostfs) under UML, an initramfs under QEMU. Mount what the tests need,
 * run each program given on the command line in turn (its output, KTAP,
 * goes to the console, where the rig's splat gate reads it together with
 * the kernel's), then power off: init must never exit, or the kernel
 * panics. Under QEMU, rig_shutdown=reboot asks for a reboot instead, on
 * which QEMU exits (-no-reboot): a machine without ACPI cannot power off.
 *
 * The kernel passes its unknown "name=value" boot parameters to init as
 * environment variables; the programs inherit them (fake_gpu_fuzz_seed=).
 * An argument "/prog,-r,name" runs /prog with the arguments "-r name": a
 * kernel command line word has no spaces, test names have no commas.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static void mount_fs(const char *src, const char *dir, const char *type)
{
	mkdir(dir, 0755);
	if (mount(src, dir, type, 0, NULL) && errno != EBUSY)
		fprintf(stderr, "rig_init: mount %s on %s: %s\n", type, dir,
			strerror(errno));
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

	mount_fs("proc", "/proc", "proc");
	mount_fs("sysfs", "/sys", "sysfs");
	mount_fs("devtmpfs", "/dev", "devtmpfs");
	mount_fs("debugfs", "/sys/kernel/debug", "debugfs");
	mount_fs("tmpfs", "/tmp", "tmpfs");

	for (i = 1; i < argc; i++) {
		char *args[64];

		split_args(argv[i], args, 64);
		pid = fork();
		if (pid == 0) {
			execve(args[0], args, environ);
			fprintf(stderr, "rig_init: exec %s: %s\n", argv[i], strerror(errno));
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid) {
			fprintf(stderr, "rig_init: cannot run %s\n", argv[i]);
			continue;
		}
		printf("rig_init: %s exited with %d\n", argv[i],
		       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	}
	fflush(NULL);
	sync();
	reboot(shutdown && !strcmp(shutdown, "reboot") ? RB_AUTOBOOT : RB_POWER_OFF);
	return 0;
}
