"""Mutation check of the core suite: every mutant of the core must be caught.

A mutant is a patch in kunit/mutants/ that breaks one rule of the two-pass
core in mm/mmu_notifier.c. Its header names it and lists the test cases
that must catch it:

  Mutant: <what is broken>
  Caught-by: <test> [<test>...]
  ---
  <unified diff against the patched tree>

Each mutant is applied to the cached tree's working copy, the core suite is
built and run in the given profile, and the mutant is reverted, whatever
happened. A mutant passes the check when the run fails and every listed
case failed (or was the one running when the kernel crashed or splatted).
"""

import glob
import os

from . import kunitrun
from .util import REPO, RigError, git, info, run

MUTANT_DIR = os.path.join(REPO, 'kunit', 'mutants')
SUITE = 'mmu_interval_two_pass'
TIMEOUT = 180


def parse(path):
    title, caught = None, []
    with open(path) as f:
        for line in f:
            if line.startswith('Mutant:'):
                title = line.split(':', 1)[1].strip()
            elif line.startswith('Caught-by:'):
                caught = line.split(':', 1)[1].split()
            elif line.strip() == '---':
                break
    if not title or not caught:
        raise RigError(f'{os.path.relpath(path, REPO)}: needs "Mutant:" and '
                       '"Caught-by:" header lines before "---"')
    return title, caught


def _failed_tests(summary):
    failed = {f.split(':', 1)[1].strip() for f in summary['failures']
              if f.startswith('test failed:')}
    failed |= {s['test'] for s in summary['splats']}
    for f in summary['failures']:
        if 'crashed or went silent' in f or f.startswith('timeout'):
            failed.add('(crash or timeout)')
    return failed


def run_mutants(base, profile, version, jobs, names=()):
    """Run every mutant, or those in @names; 0 if all were caught."""
    tree = base.tree
    if git(tree, 'status', '--porcelain', '--', 'mm/mmu_notifier.c'):
        raise RigError(f'{tree}/mm/mmu_notifier.c has uncommitted edits; '
                       'commit or drop them before running mutants')
    paths = sorted(glob.glob(os.path.join(MUTANT_DIR, '*.patch')))
    if not paths:
        raise RigError(f'no mutants in {MUTANT_DIR}')
    if names:
        known = {os.path.basename(p)[:-len('.patch')]: p for p in paths}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise RigError(f'unknown mutant {", ".join(unknown)}; known: '
                           + ', '.join(known))
        paths = [known[n] for n in names]
    rows = []
    for path in paths:
        name = os.path.basename(path)[:-len('.patch')]
        title, caught = parse(path)
        res = run(['git', '-C', tree, 'apply', path], check=False, capture=True)
        if res.returncode != 0:
            raise RigError(f'mutant {name} does not apply to the tree: '
                           f'{res.stderr.strip()}')
        info(f'mutant {name}: {title}')
        try:
            summary = kunitrun.run_profile(base, profile, version, jobs,
                                           filter_glob=SUITE, name=f'mutant-{name}',
                                           timeout=TIMEOUT)
        finally:
            run(['git', '-C', tree, 'apply', '-R', path])
        failed = _failed_tests(summary)
        crashed = '(crash or timeout)' in failed
        missed = [c for c in caught if f'{SUITE}.{c}' not in failed and not crashed]
        ok = summary['status'] == 'fail' and not missed and \
            not any(f.startswith('build') for f in summary['failures'])
        rows.append((name, ok, sorted(failed), missed))
    print()
    for name, ok, failed, missed in rows:
        short = [f.replace(SUITE + '.', '') for f in failed]
        print(f'{"caught " if ok else "MISSED "} {name}: failing: {", ".join(short) or "none"}'
              + (f'; expected but passing: {", ".join(missed)}' if missed else ''))
    bad = [r[0] for r in rows if not r[1]]
    if bad:
        info('mutants not caught: ' + ', '.join(bad))
        return 1
    info(f'all {len(rows)} mutants caught')
    return 0
