"""Long-running child processes: kunit.py builds and runs, boots.

A kernel build or a boot runs in a process group of its own, with its
output in a log file, under a timeout; on the timeout (and on Ctrl-C) the
whole group is killed, QEMU or the UML kernel's own children with it.
"""

import os
import signal
import subprocess
import time
from typing import Callable

from . import lock
from .util import RigError, info

# A long step says it is alive this often: a clean kernel build is silent
# for minutes otherwise, and CI kills jobs that print nothing for long.
HEARTBEAT = 60


def run_logged(cmd: list[str], log: str, timeout: float, cwd: str | None = None,
               env: dict[str, str] | None = None,
               alive: Callable[[float], str] | None = None) -> tuple[int, bool]:
    """Run @cmd with its output in the file @log; (returncode, timed out).

    Every HEARTBEAT seconds, if @alive is given, prints what @alive says
    of the seconds gone so far. The log is opened for writing, errors in
    what the child prints are escaped.
    """
    start = time.monotonic()
    with open(log, 'w', errors='backslashreplace') as out:
        try:
            # The cache lock goes with it: see riglib.lock.
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True,
                                    pass_fds=lock.inherited_fds())
        except FileNotFoundError as err:
            raise RigError(f'cannot run {cmd[0]}: {err.strerror}') from err
        try:
            while True:
                gone = time.monotonic() - start
                left = timeout - gone
                if left <= 0:
                    raise subprocess.TimeoutExpired(cmd, timeout)
                try:
                    wait = min(HEARTBEAT, left) if alive else left
                    return proc.wait(timeout=wait), False
                except subprocess.TimeoutExpired:
                    pass
                if alive and time.monotonic() - start < timeout:
                    info(alive(time.monotonic() - start))
        except subprocess.TimeoutExpired:
            _kill(proc)
            return proc.returncode, True
        except BaseException:
            _kill(proc)
            raise


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL @proc's process group and reap @proc."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()
