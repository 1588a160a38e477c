"""The Debian packages the rig needs, installed when run as root."""

import os
import subprocess

from .util import RigError, info, run

PACKAGES = ['flex', 'bison', 'bc', 'make', 'gcc', 'libc6-dev', 'libelf-dev',
            'libssl-dev', 'ccache', 'git', 'python3', 'xz-utils',
            'lcov', 'sparse',
            # The runner's self-tests type-check scripts/ with mypy.
            'mypy',
            # Profiles with an arch other than um (smp) run under QEMU, with
            # kunit.py's firmware for x86_64 (qboot.rom, in qemu-system-data).
            'qemu-system-x86', 'qemu-system-data',
            # The kernel sources come from the bases' pinned packages, which
            # riglib.debsrc fetches with apt and checks against this keyring.
            'debian-archive-keyring']


def missing(packages: list[str] = PACKAGES) -> list[str]:
    out = subprocess.run(['dpkg-query', '-W', '-f=${Package} ${Status}\n', *packages],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True).stdout
    ok = {line.split()[0] for line in out.splitlines()
          if line.endswith('install ok installed')}
    return [p for p in packages if p not in ok]


def ensure(packages: list[str] = PACKAGES) -> None:
    """Install what is missing, or tell a non-root user the exact command."""
    need = missing(packages)
    if not need:
        return
    cmd = ['apt-get', 'install', '-y', '--no-install-recommends', *need]
    if os.geteuid() != 0:
        raise RigError('missing Debian packages: ' + ' '.join(need) +
                       '\nrun as root:  ' + ' '.join(cmd))
    info('installing ' + ' '.join(need))
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    if run(cmd, check=False, env=env).returncode != 0:
        run(['apt-get', 'update'], env=env)
        run(cmd, env=env)
