"""Userspace boots: the profile's UML kernel runs test programs as processes.

The programs in userspace/ are built static with the host compiler (the
test program with the kernel tree's kselftest_harness.h), put in a
directory that becomes the kernel's root through hostfs, and run by
userspace/rig_init.c as init. Their KTAP (TAP 13) goes to the console with
the kernel's messages, so the same splat gate judges the boot.
"""

import os
import random
import shutil
import subprocess
import time

from . import kunitrun
from .util import REPO, RigError, info, results_dir

USERSPACE = os.path.join(REPO, 'userspace')
PROGRAMS = ['fake_gpu_test']
INIT = 'rig_init'
CFLAGS = ['-static', '-O2', '-g', '-Wall', '-Werror', '-pthread']
BOOT_TIMEOUT = 900


def build_programs(tree, root):
    """Compile init and the test programs into @root; RigError on failure."""
    if shutil.which('gcc') is None:
        raise RigError('gcc is not installed: cannot build the userspace tests')
    harness = os.path.join(tree, 'tools', 'testing', 'selftests')
    if not os.path.isfile(os.path.join(harness, 'kselftest_harness.h')):
        raise RigError(f'{tree} has no tools/testing/selftests/kselftest_harness.h')
    for name in [INIT] + PROGRAMS:
        cmd = ['gcc', *CFLAGS, '-I', harness, '-I', os.path.join(REPO, 'fake-gpu'),
               '-o', os.path.join(root, name), os.path.join(USERSPACE, name + '.c')]
        res = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True)
        if res.returncode:
            raise RigError(f'cannot build userspace/{name}.c:\n{res.stdout.strip()}')


def boot_args(root, seed, iters, extra=()):
    """The UML command line: kernel arguments, then init's after "--"."""
    args = ['mem=1G', 'console=tty', 'kunit.enable=0', 'root=/dev/root',
            'rootfstype=hostfs', f'rootflags={root}', 'rw', f'init=/{INIT}',
            f'fake_gpu_fuzz_seed={seed}']
    if iters is not None:
        args.append(f'fake_gpu_fuzz_iters={iters}')
    # After "--": init's arguments, the programs to run.
    return args + list(extra) + ['--'] + ['/' + p for p in PROGRAMS]


def run(base, profile, version, seed=None, iters=None, kernel_args=(), name=None,
        jobs=None):
    """Boot @profile's kernel into the userspace tests; the summary.

    With @jobs, build the kernel first; otherwise it must be built already.
    """
    bdir = kunitrun.build_dir(base, profile)
    linux = os.path.join(bdir, 'linux')
    name = name or f'{profile.name}-userspace'
    rdir = os.path.join(results_dir(), name)
    shutil.rmtree(rdir, ignore_errors=True)
    os.makedirs(rdir)
    if jobs is not None:
        info(f'[{name}] building ({profile.description})')
        failure = kunitrun.build(base, profile, jobs, rdir, {})
        if failure:
            raise RigError(f'[{name}] {failure}')
    if not os.path.isfile(linux):
        raise RigError(f'no kernel built for profile {profile.name} at {linux}')
    root = os.path.join(bdir, 'userspace-root')
    shutil.rmtree(root, ignore_errors=True)
    for d in ('dev', 'proc', 'sys', 'tmp'):
        os.makedirs(os.path.join(root, d))
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**63)
    summary = {'profile': name, **base.result_fields(), 'kernel_version': version,
               'build_dir': bdir,
               'status': 'fail', 'fuzz_seed': seed, 'build_seconds': 0.0,
               'tests': {'passed': 0, 'failed': 0, 'skipped': 0}, 'splats': [],
               'expected_splats': [], 'failures': []}
    info(f'[{name}] building userspace/ and booting it (fuzz seed {seed})')
    build_programs(base.tree, root)
    cmd = [linux] + boot_args(root, seed, iters, kernel_args)
    with open(os.path.join(rdir, 'cmdline'), 'w') as f:
        f.write(' '.join(cmd) + '\n')
    t0 = time.monotonic()
    timed_out = False
    with open(os.path.join(rdir, 'console.log'), 'w', errors='backslashreplace') as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=BOOT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.wait()
            timed_out = True
    summary['run_seconds'] = round(time.monotonic() - t0, 1)
    with open(os.path.join(rdir, 'console.log'), errors='backslashreplace') as f:
        console = f.read()
    return kunitrun.judge(name, rdir, summary, console,
                          f'UML killed after {BOOT_TIMEOUT} s' if timed_out else None)
