"""One rig at a time per cache: an exclusive lock on <cache>/rig.lock.

The cache is shared state: setup stages the running checkout's sources
into the cached trees (one tree per base), mutants patch those trees,
builds write into the build directories beside them. Two rigs on one cache
(two worktrees, two CI jobs, a second terminal) would build each other's
code and report results for code they did not build.
So every command that touches the cache holds this lock for its whole run.
A second rig waits, saying which checkout and command hold the cache, or,
asked not to wait (--no-wait, $RIG_NO_WAIT), fails at once saying so.

The lock is flock(2) on the file: the kernel drops it when its holder
exits, however it exits, so there is no stale lock to clean up. Who holds
it is written into the same file once it is taken, for the next one to
read.

The rig's long children (kunit.py and its build, a booted kernel) run in
process groups of their own, so that a timeout can kill them whole; a rig
killed with SIGKILL leaves them running, building in the cache. They
inherit the lock's file descriptor (inherited_fds()), and flock(2) locks
the open file, not the process: the cache stays locked until the last of
them has exited too.
"""

import fcntl
import json
import os
import sys
import time
from typing import Any

from .util import REPO, RigError, cache_dir, info, run

LOCK_NAME = 'rig.lock'
# The descriptor of the lock this process holds, if any.
_held: int | None = None


def inherited_fds() -> tuple[int, ...]:
    """What a child of the rig keeps open: the cache lock, if held."""
    return (_held,) if _held is not None else ()


def checkout_fields() -> dict[str, str | None]:
    """The checkout a run builds, as results name it: path and commit."""
    res = run(['git', '-C', REPO, 'rev-parse', 'HEAD'], check=False, capture=True)
    commit = res.stdout.strip() if res.returncode == 0 else None
    if commit:
        dirty = run(['git', '-C', REPO, 'status', '--porcelain', '--untracked-files=no'],
                    check=False, capture=True).stdout.strip()
        commit += '-dirty' if dirty else ''
    return {'checkout': REPO, 'commit': commit}


def _describe(holder: dict[str, Any] | None) -> str:
    if not holder:
        return 'another rig (it has not said who it is yet)'
    return (f'pid {holder.get("pid")}, "{holder.get("command")}" in '
            f'{holder.get("checkout")} at {holder.get("commit") or "no commit"}, '
            f'since {holder.get("since")}')


def _read_holder(fd: int) -> dict[str, Any] | None:
    try:
        text = os.pread(fd, 4096, 0).decode(errors='replace')
        return json.loads(text) if text.strip() else None
    except (OSError, ValueError):
        return None


class CacheLock:
    """Held by a rig command for as long as it uses the cache."""

    def __init__(self, command: str, wait: bool = True, cache: str | None = None) -> None:
        self.command = command
        self.wait = wait
        self.cache = cache or cache_dir()
        self.path = os.path.join(self.cache, LOCK_NAME)
        self.fd: int | None = None

    def __enter__(self) -> 'CacheLock':
        os.makedirs(self.cache, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(_read_holder(self.fd))
            if not self.wait:
                os.close(self.fd)
                self.fd = None
                raise RigError(f'the cache {self.cache} is in use by {holder}; '
                               'run again when it is done, without --no-wait to '
                               'wait for it, or with another RIG_CACHE') from None
            info(f'waiting for the cache {self.cache}, in use by {holder} (its '
                 'trees hold one checkout\'s sources at a time; another RIG_CACHE '
                 'runs beside it, with builds of its own)')
            start = time.monotonic()
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            info(f'cache free after {time.monotonic() - start:.0f} s')
        me = {'pid': os.getpid(), 'command': self.command,
                  **checkout_fields(),
                  'since': time.strftime('%Y-%m-%d %H:%M:%S')}
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, json.dumps(me).encode(), 0)
        global _held
        _held = self.fd
        return self

    def __exit__(self, *exc: object) -> None:
        global _held
        _held = None
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def command_line() -> str:
    """How this rig was started, for the next one to read."""
    return ' '.join(['scripts/rig'] + sys.argv[1:])
