"""Mutation check of the suites: every deliberately broken kernel is caught.

A mutant is a patch in kunit/mutants/ that breaks one rule of the two-pass
core (mm/mmu_notifier.c, in the cached tree) or of the fake GPU (fake-gpu/,
in this repo). Its header names it, the suites to run and the test cases
that must catch it:

  Mutant: <what is broken>
  Suites: <kunit.py filter glob>          (default: mmu_interval_two_pass)
          or "userspace": boot the userspace tests (userspace/) instead
  Profile: <profile>                      (default: the base's mutant_profile;
                                           xe's own code needs "xe")
  Caught-by: <suite.test> [<suite.test>...]
  ---
  <unified diff against the tree, or against the repo for fake-gpu/>

Each mutant is applied, the suites are built and run in the given profile
(userspace mutants: in the userspace profile), and the mutant is reverted,
whatever happened. A mutant passes the check
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

from . import gate, kunitrun, profiles, tree, userspace
from .summary import Summary
from .util import REPO, RigError, all_caught, git, info, run

MUTANT_DIR = os.path.join(REPO, 'kunit', 'mutants')
SUITE = 'mmu_interval_two_pass'
TIMEOUT = 60
USERSPACE = 'userspace'


class Mutant:
    def __init__(self, path: str, title: str, suites: str, caught: list[str],
                 files: list[str], profile: str | None) -> None:
        self.path = path
        self.name = os.path.basename(path)[:-len('.patch')]
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
    files: list[str] = []
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
            elif line.startswith('+++ b/'):
                files.append(line[6:].strip())
    if not title or not caught or not files:
        raise RigError(f'{os.path.relpath(path, REPO)}: needs "Mutant:" and '
                       '"Caught-by:" header lines and a diff')
    return Mutant(path, title, suites, caught, files, profile)


def _where(files: list[str], tree: str) -> str:
    """The git work tree a mutant applies to: the repo for fake-gpu/."""
    in_repo = [f.startswith('fake-gpu/') for f in files]
    if any(in_repo) and not all(in_repo):
        raise RigError('a mutant patches either fake-gpu/ or the kernel tree, not both')
    return REPO if in_repo[0] else tree


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
                names: Sequence[str] = (),
                userspace_profile: profiles.Profile | None = None,
                shard_spec: str | None = None) -> int:
    """Run every mutant, or those in @names; 0 if all were caught.

    A mutant is built in its own "Profile:", else in @profile. Userspace
    mutants boot @userspace_profile, a profile with a userspace boot.
    """
    tree = base.tree
    paths = sorted(glob.glob(os.path.join(MUTANT_DIR, '*.patch')))
    if not paths:
        raise RigError(f'no mutants in {MUTANT_DIR}')
    if not names:
        paths = [p for p in paths
                 if base.definition.runs_mutant(os.path.basename(p)[:-len('.patch')])]
        if not paths:
            raise RigError(f'base {base.name} runs no mutants (configs/bases.ini)')
    else:
        known = {os.path.basename(p)[:-len('.patch')]: p for p in paths}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise RigError(f'unknown mutant {", ".join(unknown)}; known: '
                           + ', '.join(known))
        paths = [known[n] for n in names]
    paths = shard(paths, shard_spec)
    if not paths:
        info(f'shard {shard_spec} of {base.name}\'s mutants is empty')
        return 0
    mutants = [parse(p) for p in paths]
    wanted = {m.profile for m in mutants if m.profile}
    own = dict(zip(wanted, profiles.select(sorted(wanted)))) if wanted else {}
    rows: list[tuple[str, bool, list[str], list[str]]] = []
    for m in mutants:
        name, title, suites, caught, files = m.name, m.title, m.suites, m.caught, m.files
        path = m.path
        where = _where(files, tree)
        if git(where, 'status', '--porcelain', '--', *files):
            raise RigError(f'{", ".join(files)} in {where} has uncommitted edits; '
                           'commit or drop them before running mutants')
        res = run(['git', '-C', where, 'apply', path], check=False, capture=True)
        if res.returncode != 0:
            raise RigError(f'mutant {name} does not apply: {res.stderr.strip()}')
        info(f'mutant {name}: {title}')
        try:
            if suites == USERSPACE:
                if userspace_profile is None:
                    raise RigError(f'mutant {name} needs a profile with a userspace boot')
                # Only the tests that catch it: the whole suite takes a
                # minute per boot.
                summary = userspace.run(base, userspace_profile, version,
                                        name=f'mutant-{name}', jobs=jobs, tests=caught)
            else:
                summary = kunitrun.run_profile(base, own.get(m.profile, profile)
                                               if m.profile else profile,
                                               version, jobs,
                                               filter_glob=suites, name=f'mutant-{name}',
                                               timeout=TIMEOUT)
        finally:
            run(['git', '-C', where, 'apply', '-R', path])
        failed = _failed_tests(summary)
        missed = [c for c in caught if c not in failed]
        ok = not summary.passed and not missed and not summary.build_failed
        if summary.build_failed:
            failed = {'(build failed: see results/mutant-%s/build.log)' % name}
        rows.append((name, ok, sorted(failed), missed))
    print()
    for name, ok, failing, missed in rows:
        print(f'{"caught " if ok else "MISSED "} {name}: failing: {", ".join(failing) or "none"}'
              + (f'; expected but passing: {", ".join(missed)}' if missed else ''))
    return all_caught([(r[0], r[1]) for r in rows], 'mutants caught', 'mutants not caught')
