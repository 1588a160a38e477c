"""rig check-log: the splat gate over any console log.

The same gate (riglib.gate) and allowlist (configs/expected-splats.ini) the
rig applies to its own UML consoles, for a log from elsewhere: a KUnit
console, a kselftest TAP log, or with --no-ktap a plain dmesg of a real
machine (an IGT run on xe hardware, say), where no test structure is
required and splats are attributed to the test marker around them if there
is one ("boot" otherwise).

Exit status: 0 when the log passes, 1 when it does not, 2 when it cannot be
read.
"""

import sys
from typing import Any

from . import gate
from .util import RigError



def read(path: str) -> str:
    """The log at @path, or standard input for "-"."""
    if path == '-':
        return sys.stdin.read()
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError as err:
        raise RigError(f'cannot read {path}: {err.strerror}') from err


def check(text: str, base: str | None = None, ktap: bool = True,
          options: set[str] | None = None) -> tuple[gate.Verdict, list[gate.Failure]]:
    """(verdict, failures) of the log @text, with @base's allowlist.

    Without @ktap, failures about the test structure do not count. @options
    are the kernel's (gate.kconfig_file()): without them the entries for a
    detector's kernel (KMSAN) are left out.
    """
    verdict = gate.judge(text, gate.load_expected(base=base, options=options))
    failures = [f for f in verdict.failures
                if ktap or f.kind not in gate.STRUCTURE]
    return verdict, failures


def to_json(verdict: gate.Verdict, failures: list[gate.Failure]) -> dict[str, Any]:
    return {'passed': not failures, 'failures': [f.to_json() for f in failures],
            'tests': {s: verdict.count(s) for s in ('pass', 'fail', 'skip')},
            'splats': [s.to_json() for s in verdict.splats],
            'expected_splats': [s.to_json() for s in verdict.expected]}


def report(path: str, verdict: gate.Verdict, failures: list[gate.Failure]) -> str:
    """The lines a person reads."""
    lines = [f'{path}: {verdict.count("pass")} passed, {verdict.count("fail")} failed, '
             f'{verdict.count("skip")} skipped; {len(verdict.splats)} unexpected and '
             f'{len(verdict.expected)} expected splat(s)']
    lines += [f'  {f}' for f in failures]
    lines.append(f'{path}: {"PASS" if not failures else "FAIL"}')
    return '\n'.join(lines)
