"""scripts/rig canaries: prove the detectors are live in the kernels we build.

configs/canaries.ini lists deliberate bugs of the fake GPU, each switched on
with fake_gpu.canary=NAME. A canary passes when its run FAILS and one of its
expected detectors is what failed it; a canary whose bug went unnoticed, or
was noticed by the wrong detector only, fails the check.
"""

import os
from typing import Any, Sequence

from . import gate, kunitrun, profiles as profiles_mod, tree, userspace
from .summary import Summary
from .util import REPO, RigError, all_caught, by_name, info, read_ini

# A canaries.ini entry: name, suites, canary, profile, detectors,
# kernel_args, timeout.
Canary = dict[str, Any]

CANARIES_INI = os.path.join(REPO, 'configs', 'canaries.ini')
DEFAULT_TIMEOUT = 120
# "suites = userspace": boot the profile into the userspace tests instead.
USERSPACE = 'userspace'


def load() -> list[Canary]:
    parser = read_ini(CANARIES_INI)
    canaries = []
    for name in parser.sections():
        sec = parser[name]
        if 'suites' not in sec or 'detectors' not in sec or 'profile' not in sec:
            raise RigError(f'{CANARIES_INI}: canary {name} needs suites, detectors and '
                           'a profile (its own or [DEFAULT]\'s)')
        try:
            timeout = sec.getint('timeout', DEFAULT_TIMEOUT)
        except ValueError as err:
            raise RigError(f'{CANARIES_INI}: canary {name}: bad timeout') from err
        canaries.append({'name': name, 'suites': sec['suites'],
                         'canary': sec.get('canary', name),
                         'profile': sec['profile'],
                         'detectors': sec['detectors'].split(),
                         'kernel_args': sec.get('kernel_args', '').split(),
                         'timeout': timeout})
    return canaries


def select(names: Sequence[str] = ()) -> list[Canary]:
    """The canaries called @names, or all; an unknown name is an error."""
    canaries = load()
    if not names:
        return canaries
    return by_name({c['name']: c for c in canaries}, names, 'canary')


def detected(summary: Summary) -> list[tuple[str, str]]:
    """(detector, first line of its report) pairs that failed @summary."""
    found = [(s['kind'], s['first_lines'][0]) for s in summary.splats]
    if summary.timeout:
        found.append(('timeout', f'{summary.timeout} after {summary.run_seconds} s'))
    found += [('test', f.message) for f in summary.failures if f.kind == gate.TEST]
    return found


def run_canaries(base: tree.Base, profiles: dict[str, profiles_mod.Profile], version: str,
                 jobs: int, names: Sequence[str] = ()) -> int:
    """Run the canaries; @profiles maps names to profiles."""
    canaries = select(names)
    rows: list[tuple[str, bool, tuple[str, str] | None, list[tuple[str, str]]]] = []
    for c in canaries:
        info(f'canary {c["name"]}: expecting {" or ".join(c["detectors"])}')
        if c['profile'] not in profiles:
            raise RigError(f'{CANARIES_INI}: canary {c["name"]}: unknown profile '
                           f'{c["profile"]}')
        profile = profiles[c['profile']]
        kernel_args = [f'fake_gpu.canary={c["canary"]}', *c['kernel_args']]
        if c['suites'] == USERSPACE:
            summary = userspace.run(base, profile, version, kernel_args=kernel_args,
                                    name=f'canary-{c["name"]}', jobs=jobs)
        else:
            summary = kunitrun.run_profile(base, profile, version, jobs,
                                           filter_glob=c['suites'],
                                           kernel_args=kernel_args,
                                           name=f'canary-{c["name"]}',
                                           timeout=c['timeout'])
        found = detected(summary)
        hits = [(d, line) for d, line in found if d in c['detectors']]
        ok = not summary.passed and bool(hits) and not summary.build_failed
        rows.append((c['name'], ok, hits[0] if hits else None, found))
    print()
    for name, ok, hit, found in rows:
        if ok and hit:
            print(f'caught  {name}: by {hit[0]}: {hit[1]}')
        else:
            seen = ', '.join(sorted({d for d, _ in found})) or 'nothing'
            print(f'MISSED  {name}: detectors that fired: {seen}')
    return all_caught([(r[0], r[1]) for r in rows], 'canaries caught by their detectors',
                      'canaries not caught by their detector')
