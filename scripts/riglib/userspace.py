"""Userspace boots: the profile's kernel runs test programs as processes.

The programs in userspace/ are built static with the host compiler (the
test program with the kernel tree's kselftest_harness.h) and run by
userspace/rig_init.c as init. Their KTAP (TAP 13) goes to the console with
the kernel's messages, so the same splat gate judges the boot.

How the programs reach the kernel is the profile's boot method:
  hostfs     (UML) a host directory becomes the kernel's root
  initramfs  (QEMU) an uncompressed cpio archive, written by the kernel's
             own usr/gen_init_cpio, is handed over with -initrd; QEMU runs
             exactly as kunit.py runs it for the profile (same binary,
             firmware, serial console, accelerators and qemu_args)
"""

import os
import random
import shlex
import shutil
import subprocess
import time
from typing import Sequence

from . import kunitrun, proc, profiles, qemu, tree
from .summary import Summary
from .tree import RIG_SUBDIR
from .util import REPO, RigError, info, results_dir

USERSPACE = os.path.join(REPO, 'userspace')
PROGRAMS = ['fake_gpu_test']
INIT = 'rig_init'
CFLAGS = ['-static', '-O2', '-g', '-Wall', '-Werror', '-pthread']
BOOT_TIMEOUT = 900

def _compile(src: str, out: str, flags: list[str]) -> None:
    cmd = ['gcc', *CFLAGS, *flags, '-o', out, src]
    res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         text=True)
    if res.returncode:
        raise RigError(f'cannot build {os.path.relpath(src, REPO)}:\n{res.stdout.strip()}')


def build_programs(tree: str, root: str) -> None:
    """Compile init and the test programs into @root; RigError on failure."""
    if shutil.which('gcc') is None:
        raise RigError('gcc is not installed: cannot build the userspace tests')
    harness = os.path.join(tree, 'tools', 'testing', 'selftests')
    if not os.path.isfile(os.path.join(harness, 'kselftest_harness.h')):
        raise RigError(f'{tree} has no tools/testing/selftests/kselftest_harness.h')
    build_init(root)
    for name in PROGRAMS:
        _compile(os.path.join(USERSPACE, name + '.c'), os.path.join(root, name),
                 # The uapi header as the kernel has it: staged, maybe mutated.
                 ['-I', harness, '-I', os.path.join(tree, RIG_SUBDIR, 'fake-gpu')])


def boot_args(root: str, seed: int | None, iters: int | None, extra: Sequence[str] = (),
              boot: str | None = 'hostfs', programs: Sequence[str] = PROGRAMS) -> list[str]:
    """The kernel command line: kernel arguments, then init's after "--".

    @root is the hostfs root directory (unused for an initramfs boot);
    @programs are what init runs, in order, from the root.
    """
    # rig_init writes the programs' output to /dev/kmsg, a record per line
    # (whole lines on the console); unlimited, or the kernel drops records.
    args = ['kunit.enable=0', 'printk.devkmsg=on']
    if seed is not None:
        args.append(f'fake_gpu_fuzz_seed={seed}')
    if boot == 'hostfs':
        args += ['mem=1G', 'console=tty', 'root=/dev/root', 'rootfstype=hostfs',
                 f'rootflags={root}', 'rw', f'init=/{INIT}']
    else:
        # QEMU exits on the guest's reboot (kunit.py passes -no-reboot);
        # rig_init reads this from its environment.
        args += [f'rdinit=/{INIT}', 'rig_shutdown=reboot']
    if iters is not None:
        args.append(f'fake_gpu_fuzz_iters={iters}')
    # After "--": init's arguments, the programs to run.
    return args + list(extra) + ['--'] + ['/' + p for p in programs]


def cpio_list(root: str) -> str:
    """usr/gen_init_cpio's list for the files of @root, plus /dev/console.

    The console node must exist before init opens its stdio; everything
    else in /dev comes from the devtmpfs rig_init mounts.
    """
    lines = ['dir /dev 0755 0 0', 'nod /dev/console 0600 0 0 c 5 1']
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        rel = '/' + os.path.relpath(dirpath, root) if dirpath != root else ''
        for d in dirs:
            if rel + '/' + d != '/dev':
                lines.append(f'dir {rel}/{d} 0755 0 0')
        for f in sorted(files):
            lines.append(f'file {rel}/{f} {os.path.join(dirpath, f)} 0755 0 0')
    return '\n'.join(lines) + '\n'


def write_initramfs(bdir: str, root: str, out: str) -> None:
    """Pack @root into the cpio archive @out with the build's gen_init_cpio."""
    tool = os.path.join(bdir, 'usr', 'gen_init_cpio')
    if not os.access(tool, os.X_OK):
        raise RigError(f'{tool} was not built: the profile needs '
                       'configs/userspace-initramfs.config')
    listing = out + '.list'
    with open(listing, 'w') as f:
        f.write(cpio_list(root))
    with open(out, 'wb') as f:
        res = subprocess.run([tool, listing], stdout=f, stderr=subprocess.PIPE, text=True)
    if res.returncode:
        raise RigError(f'gen_init_cpio failed: {res.stderr.strip()}')


def harness_filter(program: str, tests: Sequence[str]) -> str:
    """The init argument running @program with only @tests (kselftest's -r).

    @tests are "fixture.variant.test" or "fixture.test" names, as the
    harness prints them; none means every test.
    """
    for t in tests:
        if not t or ',' in t or any(c.isspace() for c in t):
            raise RigError(f'cannot pass the test name {t!r} to init')
    return ','.join([program] + [a for t in tests for a in ('-r', t)])


def run(base: tree.Base, profile: profiles.Profile, version: str, seed: int | None = None,
        iters: int | None = None, kernel_args: Sequence[str] = (), name: str | None = None,
        jobs: int | None = None, tests: Sequence[str] = ()) -> Summary:
    """Boot @profile's kernel into the userspace tests; the summary.

    With @jobs, build the kernel first; otherwise it must be built already.
    With @tests, only those tests run (kselftest names).
    """
    bdir = kunitrun.build_dir(base, profile)
    # What the build must have left: the UML binary, or the vmlinux of
    # QEMU's image.
    linux = os.path.join(bdir, 'vmlinux' if profile.qemu else 'linux')
    name = name or f'{profile.name}-userspace'
    rdir = os.path.join(results_dir(), name)
    shutil.rmtree(rdir, ignore_errors=True)
    os.makedirs(rdir)
    if jobs is not None:
        info(f'[{name}] building ({profile.description})')
        failure = kunitrun.build(base, profile, jobs, rdir, None)
        if failure:
            raise RigError(f'[{name}] {failure}')
    if not os.path.isfile(linux):
        raise RigError(f'no kernel built for profile {profile.name} at {linux}')
    root = new_root(os.path.join(bdir, 'userspace-root'))
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**63)
    summary = Summary(profile=name, kernel_version=version, build_dir=bdir, fuzz_seed=seed,
                      build_seconds=0.0, **base.result_fields())
    info(f'[{name}] building userspace/ and booting it (fuzz seed {seed})')
    build_programs(base.tree, root)
    params = boot_args(root, seed, iters, kernel_args, profile.userspace,
                       programs=[harness_filter(p, tests) for p in PROGRAMS])
    if profile.qemu:
        initramfs = os.path.join(bdir, 'userspace.cpio')
        write_initramfs(bdir, root, initramfs)
        cmd = qemu.command(base.tree, profile, bdir, params, userspace=True) + [
            '-initrd', initramfs]
    else:
        cmd = [linux] + params
    console, seconds, timed_out = boot(cmd, rdir,
                                       env=kunitrun.exec_env(base.tree, profile, bdir))
    summary.run_seconds = seconds
    return kunitrun.judge(name, rdir, summary, console,
                          f'killed after {BOOT_TIMEOUT} s' if timed_out else None)


def new_root(root: str) -> str:
    """An empty root for a userspace boot at @root, with init's mount points."""
    shutil.rmtree(root, ignore_errors=True)
    for d in ('dev', 'proc', 'sys', 'tmp'):
        os.makedirs(os.path.join(root, d))
    return root


def build_init(root: str) -> None:
    """Compile userspace/rig_init.c into @root; RigError on failure."""
    _compile(os.path.join(USERSPACE, INIT + '.c'), os.path.join(root, INIT), [])


def boot(cmd: list[str], rdir: str, timeout: float = BOOT_TIMEOUT,
         env: dict[str, str] | None = None) -> tuple[str, float, bool]:
    """Run the machine @cmd (in @env) to its end; (console, seconds, timed out).

    The command line goes to @rdir/cmdline, the console to @rdir/console.log.
    """
    with open(os.path.join(rdir, 'cmdline'), 'w') as f:
        accel = (env or {}).get('RIG_QEMU_ACCEL')
        f.write((f'RIG_QEMU_ACCEL={accel} ' if accel else '') + shlex.join(cmd) + '\n')
    t0 = time.monotonic()
    _, timed_out = proc.run_logged(cmd, os.path.join(rdir, 'console.log'), timeout,
                                   env=env)
    seconds = round(time.monotonic() - t0, 1)
    with open(os.path.join(rdir, 'console.log'), errors='backslashreplace') as f:
        return f.read(), seconds, timed_out
