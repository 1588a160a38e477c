"""Mutation check of the suites: every deliberately broken kernel is caught.

A mutant is a patch in mutants/<target>/ that breaks one rule of the code
its folder names (TARGETS: the two-pass core, the fake GPU, xe, ...); its
name is "<target>/<file name without .patch>". Its header names it, the
suites to run and the test cases that must catch it (mutants/README.md):

  Mutant: <what is broken>
  Suites: <kunit.py filter glob>          (default: mmu_interval_two_pass)
          or "userspace": boot the userspace tests (userspace/) instead
  Profile: <profile>                      (default: the base's mutant_profile;
                                           xe's own code needs "xe"; a
                                           userspace mutant, a profile with
                                           a userspace boot)
  Caught-by: <suite.test> [<suite.test>...]
  ---
  <unified diff: against the kernel tree, or against the checkout for
   the rig's own sources (fake-gpu/)>

Each mutant is applied to the cached tree (the rig's sources there are
staged copies: the checkout is never patched), the suites are built and
run in the given profile (userspace mutants: booted into userspace/),
and the mutant is reverted, whatever happened; if the rig is killed first,
the next setup reverts it (tree.temporary_patch()). A mutant passes the check
when the run fails and every listed case failed (or was the one running
when the kernel crashed or splatted). A crash counts against the one test
that was running (the gate's crashed_in, a KUnit case found from the
kernel's own test list): a mutant whose kernel dies in another test than
the one its header names is not caught.
"""

import glob
import os
import re
from typing import Sequence

from . import bases, diffs, gate, kunitrun, profiles, tree, userspace
from .summary import Summary
from .util import REPO, RigError, all_caught, by_name, info

MUTANT_DIR = os.path.join(REPO, 'mutants')
# Target folder -> where in the kernel tree its patches apply (git apply
# --directory): the rig's own sources are staged under RIG_SUBDIR.
TARGETS = {
    'core': '',                         # mm/mmu_notifier.c
    'fake-gpu': tree.RIG_SUBDIR,        # fake-gpu/, caught by KUnit
    'userspace': tree.RIG_SUBDIR,       # fake-gpu/'s chardev, caught from processes
    'gpusvm-client': tree.RIG_SUBDIR,   # drm_gpusvm's test client (kunit/)
    'xe': '',                           # xe's flows (drivers/gpu/drm/xe/)
    'gpusvm': '',                       # drm_gpusvm (drivers/gpu/drm/drm_gpusvm.c)
    'backport': '',                     # the 6.12 backport without one of its fixes
    'rfc': '',                          # the rules of kernel-patches/rfc/
    'upstream-shipped': '',             # 7.3.4's xe, without our upstream fixes
    'xe-svm': '',                       # xe's SVM notifier (xe_svm.c), x86_64 only
}
SUITE = 'mmu_interval_two_pass'
# How long a mutant's kernel may run: a hang is caught as a timeout. A
# QEMU profile boots an x86_64 debug kernel under TCG first, in minutes.
TIMEOUT = 60
QEMU_TIMEOUT = 300
USERSPACE = 'userspace'


class Mutant:
    def __init__(self, path: str, title: str, suites: str, caught: list[str],
                 files: list[str], profile: str | None) -> None:
        self.path = path
        self.name = name_of(path)
        self.target = os.path.basename(os.path.dirname(path))
        self.title = title
        self.suites = suites
        self.caught = caught
        self.files = files
        self.profile = profile


def parse(path: str) -> Mutant:
    """The Mutant in the file @path."""
    title: str | None = None
    suites = SUITE
    caught: list[str] = []
    profile: str | None = None
    with open(path) as f:
        for line in f:
            if line.startswith('Mutant:'):
                title = line.split(':', 1)[1].strip()
            elif line.startswith('Suites:'):
                suites = line.split(':', 1)[1].strip()
            elif line.startswith('Profile:'):
                profile = line.split(':', 1)[1].strip()
            elif line.startswith('Caught-by:'):
                caught = [c if '.' in c else f'{SUITE}.{c}'
                          for c in line.split(':', 1)[1].split()]
    files = diffs.files(diffs.parse_file(path))
    if not title or not caught or not files:
        raise RigError(f'{os.path.relpath(path, REPO)}: needs "Mutant:" and '
                       '"Caught-by:" header lines and a diff')
    return Mutant(path, title, suites, caught, files, profile)


def name_of(path: str) -> str:
    """"<target>/<stem>" of the mutant file @path."""
    return f'{os.path.basename(os.path.dirname(path))}/{os.path.basename(path)[:-6]}'


def all_paths() -> list[str]:
    """Every mutant file, by target and name; RigError on a stray one."""
    paths = sorted(glob.glob(os.path.join(MUTANT_DIR, '*', '*.patch')))
    stray = [p for p in paths if os.path.basename(os.path.dirname(p)) not in TARGETS]
    stray += glob.glob(os.path.join(MUTANT_DIR, '*.patch'))
    if stray:
        raise RigError(f'{", ".join(os.path.relpath(p, REPO) for p in stray)}: not in '
                       f'a target folder of {os.path.relpath(MUTANT_DIR, REPO)}/ '
                       f'({", ".join(TARGETS)})')
    if not paths:
        raise RigError(f'no mutants in {MUTANT_DIR}')
    return paths


def select(base: bases.BaseDef, names: Sequence[str] = (), slow: bool = False) -> list[str]:
    """The mutant files @base runs (@slow: its slow_mutants), or those
    called @names (any base)."""
    paths = all_paths()
    if not names:
        paths = [p for p in paths if base.runs_mutant(name_of(p), slow)]
        if not paths:
            key = 'slow_mutants' if slow else 'mutants'
            raise RigError(f'base {base.name} runs no {key} (configs/bases.ini)')
        return paths
    return by_name({name_of(p): p for p in paths}, names, 'mutant')


def check(paths: list[str]) -> None:
    """Parse every mutant of @paths and check the profiles their headers
    name; RigError on the first that is wrong."""
    known = profiles.load()
    for m in map(parse, paths):
        if m.profile and m.profile not in known:
            raise RigError(f'{os.path.relpath(m.path, REPO)}: Profile: {m.profile} is '
                           'not in configs/profiles.ini')
        if m.suites == USERSPACE and not (m.profile and known[m.profile].userspace):
            raise RigError(f'{os.path.relpath(m.path, REPO)}: "Suites: userspace" needs '
                           'a "Profile:" with a userspace boot')


def result_name(name: str) -> str:
    """The results directory of mutant @name: one level, no slash."""
    return 'mutant-' + name.replace('/', '-')


def _failed_tests(summary: Summary) -> set[str]:
    failed = set(summary.failed_tests())
    failed |= {s['test'] for s in summary.splats}
    failed |= set(summary.expected_missing)
    # A failed parameter ("suite.case.param") fails its case too.
    failed |= {'.'.join(t.split('.', 2)[:2]) for t in failed if t.count('.') >= 2}
    crashed = summary.crashed_in
    if crashed:
        failed.add(crashed)
        failed.add('.'.join(crashed.split('.', 2)[:2]))
    elif any(f.kind in (gate.CRASH, gate.TIMEOUT) for f in summary.failures):
        failed.add('(crash or timeout in no known test)')
    return failed


def shard(paths: list[str], spec: str | None) -> list[str]:
    """Shard "I/N" of @paths (every N-th from the I-th, 1-based), or all."""
    if not spec:
        return paths
    m = re.fullmatch(r'(\d+)/(\d+)', spec)
    if not m or not 1 <= int(m.group(1)) <= int(m.group(2)):
        raise RigError(f'--shard {spec}: not I/N with 1 <= I <= N')
    return paths[int(m.group(1)) - 1::int(m.group(2))]


def run_mutants(base: tree.Base, profile: profiles.Profile, version: str, jobs: int,
                names: Sequence[str] = (), shard_spec: str | None = None,
                slow: bool = False) -> int:
    """Run every mutant (@slow: the slow ones), or those in @names; 0 if
    all were caught.

    A mutant is built in its own "Profile:", else in @profile.
    """
    paths = select(base.definition, names, slow)
    paths = shard(paths, shard_spec)
    if not paths:
        info(f'shard {shard_spec} of {base.name}\'s mutants is empty')
        return 0
    check(paths)
    mutants = [parse(p) for p in paths]
    wanted = {m.profile for m in mutants if m.profile}
    own = dict(zip(wanted, profiles.select(sorted(wanted)))) if wanted else {}
    rows: list[tuple[str, bool, list[str], list[str]]] = []
    for m in mutants:
        name, title, suites, caught = m.name, m.title, m.suites, m.caught
        info(f'mutant {name}: {title}')
        built_in = own[m.profile] if m.profile else profile
        with tree.temporary_patch(base.tree, m.path, TARGETS[m.target]):
            if suites == USERSPACE:
                # Only the tests that catch it: the whole suite takes a
                # minute per boot.
                summary = userspace.run(base, built_in, version,
                                        name=result_name(name), jobs=jobs, tests=caught)
            else:
                summary = kunitrun.run_profile(base, built_in, version, jobs,
                                               filter_glob=suites, name=result_name(name),
                                               timeout=TIMEOUT if built_in.arch == 'um'
                                               else QEMU_TIMEOUT)
        failed = _failed_tests(summary)
        missed = [c for c in caught if c not in failed]
        ok = not summary.passed and not missed and not summary.build_failed
        if summary.build_failed:
            failed = {f'(build failed: see results/{result_name(name)}/build.log)'}
        rows.append((name, ok, sorted(failed), missed))
    print()
    for name, ok, failing, missed in rows:
        print(f'{"caught " if ok else "MISSED "} {name}: failing: {", ".join(failing) or "none"}'
              + (f'; expected but passing: {", ".join(missed)}' if missed else ''))
    return all_caught([(r[0], r[1]) for r in rows], 'mutants caught', 'mutants not caught')
