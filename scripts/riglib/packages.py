"""The Debian packages the rig needs, installed when run as root."""

import os
import subprocess
import time

from .util import RigError, cache_dir, info

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


def log_path() -> str:
    """Where apt's output goes: the cache, not the terminal."""
    return os.path.join(cache_dir(), 'logs', 'packages.log')


def _apt(cmd: list[str], log: str) -> bool:
    """Run apt-get @cmd with its output appended to @log; whether it succeeded."""
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    with open(log, 'a') as f:
        f.write(f'$ {" ".join(cmd)}\n')
        f.flush()
        try:
            res = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, env=env)
        except FileNotFoundError as err:
            raise RigError(f'cannot run {cmd[0]}: {err.strerror}') from err
    return res.returncode == 0


def _tail(path: str, lines: int = 15) -> str:
    with open(path, errors='replace') as f:
        return ''.join(f.readlines()[-lines:]).rstrip()


def ensure(packages: list[str] = PACKAGES) -> None:
    """Install what is missing, or tell a non-root user the exact command.

    apt's progress goes to log_path(); the terminal gets one line, or on
    failure the log's last lines and its path.
    """
    need = missing(packages)
    if not need:
        return
    cmd = ['apt-get', 'install', '-y', '--no-install-recommends', *need]
    if os.geteuid() != 0:
        raise RigError('missing Debian packages: ' + ' '.join(need) +
                       '\nrun as root:  ' + ' '.join(cmd))
    log = log_path()
    os.makedirs(os.path.dirname(log), exist_ok=True)
    t0 = time.monotonic()
    ok = _apt(cmd, log) or (_apt(['apt-get', 'update'], log) and _apt(cmd, log))
    if not ok:
        raise RigError(f'installing {" ".join(need)} failed; the end of {log}:\n'
                       + _tail(log))
    info(f'installed {len(need)} Debian package(s) ({" ".join(need)}) in '
         f'{time.monotonic() - t0:.0f} s; apt\'s output: {log}')
