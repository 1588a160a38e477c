"""The accelerator QEMU runs the rig's non-UML kernels with.

kunit.py starts QEMU with "-accel kvm -accel hvf -accel tcg": the first
that initialises wins. A /dev/kvm that opens is not one that works: in a
nested VM without the host's virtualisation features the guest hangs
while decompressing the kernel, and the run ends at its timeout. So the
rig decides, once per run and per architecture: it boots the profile's
own kernel under KVM into an immediate panic (no init, panic=-1,
-no-reboot), which under a working KVM ends in seconds; else TCG, which
always works, on as many host threads as vCPUs (MTTCG). $RIG_QEMU_ACCEL
(kvm or tcg) skips the probe. A profile whose QEMU counts instructions
(-icount) runs under TCG without a probe.

The choice reaches QEMU through a wrapper named like the QEMU binary,
first on the PATH of kunit.py and of the userspace boots, which replaces
every "-accel" argument with the chosen one.
"""

import json
import os
import shutil
import stat
import subprocess

from . import profiles
from .util import RigError, cache_dir, info

ACCELS = ('kvm', 'tcg')
PROBE_SECONDS = 30
_chosen: dict[str, str] = {}

WRAPPER = '''#!/bin/sh
# Written by scripts/riglib/qemu.py: {real} with the rig's accelerator
# ($RIG_QEMU_ACCEL) instead of the ones its caller (kunit.py) listed.
for a do
	shift
	if [ -n "$skip" ]; then skip=; continue; fi
	if [ "$a" = -accel ]; then skip=1; continue; fi
	set -- "$@" "$a"
done
exec {real} "$@" -accel "${{RIG_QEMU_ACCEL:?}}"
'''


# Run in a child python with the tree's tools/testing/kunit first on its
# path (two bases may ship two kunit.py versions, so the runner does not
# import either): build kunit.py's QEMU operations for the architecture
# exactly as "kunit.py exec --arch --qemu_args" does and print the command
# its start() would run, instead of running it.
_QEMU_COMMAND_PY = r"""
import json, shlex, sys
sys.path.insert(0, sys.argv[1])
import kunit_kernel
def capture(cmd, **kwargs):
    print('RIG-QEMU-COMMAND ' + json.dumps(cmd))
    sys.exit(0)
kunit_kernel.subprocess.Popen = capture
_, ops = kunit_kernel._get_qemu_ops(kunit_kernel._default_qemu_config_path(sys.argv[2]),
                                    shlex.split(sys.argv[3]), None)
ops.start(json.loads(sys.argv[4]), sys.argv[5])
"""


# A boot into userspace is no KUnit run, but the KUnit executor runs (and
# says "kunit: disabled") before init all the same, and then obeys the
# kunit_shutdown=reboot kunit.py passes: the machine would restart before
# init. The last value of a kernel parameter wins.
NO_KUNIT_SHUTDOWN = 'kunit_shutdown=none'


def command(tree: str, profile: profiles.Profile, bdir: str, params: list[str],
            userspace: bool = False) -> list[str]:
    """The QEMU command kunit.py would run for @profile's kernel with @params.

    kunit.py puts its own kernel arguments (the console, kunit_shutdown)
    after the ones it is given, so init's arguments (from "--" in @params
    on) are appended to the command line afterwards; for a @userspace
    boot, after NO_KUNIT_SHUTDOWN.
    """
    split = params.index('--') if '--' in params else len(params)
    kunit_dir = os.path.join(tree, 'tools', 'testing', 'kunit')
    res = subprocess.run(['python3', '-c', _QEMU_COMMAND_PY, kunit_dir, profile.arch,
                          profile.qemu_args, json.dumps(params[:split]), bdir],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in res.stdout.splitlines():
        if line.startswith('RIG-QEMU-COMMAND '):
            cmd = json.loads(line.split(' ', 1)[1])
            break
    else:
        raise RigError(f'cannot get the QEMU command of {profile.arch} from {kunit_dir}:\n'
                       + res.stdout.strip())
    tail = ([NO_KUNIT_SHUTDOWN] if userspace else []) + params[split:]
    if tail:
        i = cmd.index('-append') + 1
        cmd[i] = ' '.join([cmd[i]] + tail)
    return cmd


def kernel_image(tree: str, profile: profiles.Profile, bdir: str) -> str:
    """The kernel image kunit.py boots for @profile (bzImage on x86_64)."""
    cmd = command(tree, profile, bdir, [])
    return cmd[cmd.index('-kernel') + 1]


def binary(arch: str) -> str:
    """kunit.py's name for the QEMU of @arch (its qemu_configs agree for x86_64)."""
    return f'qemu-system-{arch}'


def wrapper_dir(arch: str) -> str:
    """A directory holding the wrapper for @arch's QEMU binary."""
    name = binary(arch)
    real = shutil.which(name)
    if real is None:
        raise RigError(f'{name} is not installed (Debian package qemu-system-x86 '
                       'for x86_64): profiles with an arch other than um run under QEMU')
    d = os.path.join(cache_dir(), 'qemu-bin')
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, name)
    text = WRAPPER.format(real=real)
    try:
        with open(path) as f:
            current = f.read()
    except OSError:
        current = None
    if current != text:
        with open(path + '.tmp', 'w') as f:
            f.write(text)
        os.chmod(path + '.tmp', stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP |
                 stat.S_IROTH | stat.S_IXOTH)
        os.rename(path + '.tmp', path)
    return d


def probe_kvm(arch: str, kernel: str) -> bool:
    """True if @kernel boots to its end under KVM within PROBE_SECONDS."""
    if not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return False
    cmd = [shutil.which(binary(arch)) or binary(arch), '-nodefaults', '-nographic',
           '-no-reboot', '-m', '256', '-accel', 'kvm', '-serial', 'null',
           '-kernel', kernel,
           '-append', 'console=ttyS0 kunit.enable=0 panic=-1 rdinit=/rig-no-init']
    try:
        res = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, timeout=PROBE_SECONDS)
    except subprocess.TimeoutExpired:
        return False
    return res.returncode == 0


def accel(arch: str, kernel: str) -> str:
    """The accelerator for @arch: $RIG_QEMU_ACCEL, or KVM if @kernel boots under it."""
    forced = os.environ.get('RIG_QEMU_ACCEL')
    if forced:
        if forced not in ACCELS:
            raise RigError(f'RIG_QEMU_ACCEL={forced}: one of {", ".join(ACCELS)}')
        return forced
    if arch not in _chosen:
        works = probe_kvm(arch, kernel)
        _chosen[arch] = 'kvm' if works else 'tcg'
        info(f'QEMU {arch}: ' + ('KVM works' if works else
                                  f'no working KVM (the probe boot did not end within '
                                  f'{PROBE_SECONDS} s, or no /dev/kvm): TCG'))
    return _chosen[arch]


def env(profile: profiles.Profile, kernel: str,
        base_env: dict[str, str]) -> dict[str, str]:
    """@base_env for running @profile's QEMU (through kunit.py or directly)."""
    out = dict(base_env)
    out['PATH'] = wrapper_dir(profile.arch) + os.pathsep + out.get('PATH', '')
    out['RIG_QEMU_ACCEL'] = icount_accel(profile) or accel(profile.arch, kernel)
    return out


def icount_accel(profile: profiles.Profile) -> str | None:
    """'tcg' if @profile counts instructions (-icount), else None.

    QEMU refuses -icount under KVM, and with it runs TCG on one host
    thread: no probe, and $RIG_QEMU_ACCEL may not ask for KVM.
    """
    if '-icount' not in profile.qemu_args.split():
        return None
    if os.environ.get('RIG_QEMU_ACCEL', 'tcg') != 'tcg':
        raise RigError(f'profile {profile.name} runs QEMU with -icount, which needs '
                       f'TCG: RIG_QEMU_ACCEL={os.environ["RIG_QEMU_ACCEL"]} cannot be used')
    return 'tcg'
