"""rig bisect-build: build the tree after each patch of the series.

Bisectability is checked, not promised: in a worktree of the cached tree
(so the profiles' trees and build directories are left alone), the base and
then the base plus each patch of kernel-patches/series in turn, applied
with git am, are built incrementally in a configuration that compiles every
file the series touches. The first patch that breaks the build is named.

At every step the .c files the series touches are also compiled with W=1
and checked with sparse (C=2), and the diagnostics inside the touched
files are compared with the unpatched base's: a patch may not add any.
And every step boots and runs the KUnit suites of that configuration (xe's)
behind the splat gate, so the test counts before and after each patch are
measured in one run.
"""

import collections
import json
import os
import re
import shutil
import time
from typing import Any

from . import diffs, gate, kunitrun, profiles, tree
from .util import REPO, RigError, cache_dir, git, info, results_dir, run

EXEC_TIMEOUT = 600


def fragments(base: tree.Base) -> list[str]:
    """The configuration of each step: the profile of "bisect-build"
    (configs/profiles.ini). It builds every file of the series: DRM_XE
    selects MMU_NOTIFIER (mm/mmu_notifier.c) and the xe files are xe's own.
    The rig's suites are left out: they need patch 1 and are not part of
    the series."""
    return kunitrun.fragments(base, profiles.for_command('bisect-build'))

# gcc: "path:line:col: warning: text [-Wflag]"; sparse: the same shape.
# Diagnostics counted by (file, kind, text).
Diagnostics = collections.Counter[tuple[str, str, str]]

DIAG_RE = re.compile(r'^(?P<file>[^\s:]+):(?P<line>\d+):(?:\d+:)?\s*'
                     r'(?P<kind>warning|error):\s*(?P<text>.*)$')


def parse_diagnostics(output: str, files: list[str]) -> Diagnostics:
    """Count the diagnostics of @output located in one of @files.

    Line numbers move between patches, so a diagnostic is keyed by file and
    text only; the same text twice in a file counts twice.
    """
    counts: Diagnostics = collections.Counter()
    for line in output.splitlines():
        m = DIAG_RE.match(line.strip())
        if not m:
            continue
        path = os.path.normpath(m.group('file'))
        for f in files:
            if path == f or path.endswith('/' + f):
                counts[(f, m.group('kind'), m.group('text').strip())] += 1
                break
    return counts


def new_diagnostics(base: Diagnostics, step: Diagnostics) -> Diagnostics:
    """The diagnostics of @step that the base does not have (a Counter)."""
    return step - base


class Step:
    def __init__(self, name: str, patch: str | None) -> None:
        self.name = name
        self.patch = patch
        self.build_ok: bool | None = None
        self.build_seconds: float | None = None
        self.errors: list[str] = []
        self.tests: dict[str, int] | None = None
        self.gate_failures: list[str] = []
        self.w1: Diagnostics = collections.Counter()
        self.sparse: Diagnostics = collections.Counter()

    def to_json(self, base: 'Step | None') -> dict[str, Any]:
        def diag(counter: Diagnostics, ref: Diagnostics | None) -> dict[str, Any]:
            new = new_diagnostics(ref, counter) if ref is not None else collections.Counter()
            return {'total': sum(counter.values()), 'new': sum(new.values()),
                    'new_list': [f'{f}: {k}: {t}' for (f, k, t) in new.elements()]}
        return {'step': self.name, 'build_ok': self.build_ok,
                'build_seconds': self.build_seconds, 'errors': self.errors[:20],
                'tests': self.tests, 'gate_failures': self.gate_failures,
                'w1': diag(self.w1, base.w1 if base else None),
                'sparse': diag(self.sparse, base.sparse if base else None)}


def touched_files(patches: list[str]) -> list[str]:
    """The files the patches of the series change, from their diffs."""
    return sorted({f for path in patches for f in diffs.files(diffs.parse_file(path))})


def worktree(base: tree.Base) -> str:
    """The bisect worktree of the cached tree."""
    wt = base.tree.rstrip('/') + '-bisect'
    if not os.path.isdir(os.path.join(wt, '.git')) and not os.path.isfile(
            os.path.join(wt, '.git')):
        if os.path.exists(wt):
            shutil.rmtree(wt)
        git(base.tree, 'worktree', 'prune')
        info(f'creating the bisect worktree {wt}')
        git(base.tree, 'worktree', 'add', '-q', '--detach', wt, 'rig-pristine')
    return wt


def _build(base: tree.Base, wt: str, bdir: str, jobs: int, log: str) -> tuple[bool, float]:
    cmd = kunitrun.kunit_cmd(wt, 'build', bdir, jobs)
    for frag in fragments(base):
        cmd += ['--kunitconfig', frag]
    t0 = time.monotonic()
    rc, timed_out = kunitrun.logged(cmd, wt, log, kunitrun.BUILD_TIMEOUT,
                                     what='[bisect] still building', bdir=bdir)
    return rc == 0 and not timed_out, round(time.monotonic() - t0, 1)


def _exec(base: tree.Base, wt: str, bdir: str, jobs: int,
          log: str) -> tuple[dict[str, int], list[str]]:
    """Boot the step's kernel; (pass, fail, skip) counts and gate failures."""
    cmd = kunitrun.kunit_cmd(wt, 'exec', bdir, jobs) + ['--timeout', str(EXEC_TIMEOUT)]
    test_log = os.path.join(bdir, 'test.log')
    if os.path.exists(test_log):
        os.unlink(test_log)
    _, killed = kunitrun.logged(cmd, wt, log, EXEC_TIMEOUT + kunitrun.EXEC_MARGIN)
    console = kunitrun.save_console(bdir, log[:-len('exec.log')] + 'console.log')
    v = gate.judge(console, gate.load_expected(base=base.name, options=gate.kconfig(bdir)),
                   timed_out=killed)
    return {'passed': v.count('pass'), 'failed': v.count('fail'),
            'skipped': v.count('skip')}, [str(f) for f in v.failures]


def _errors(log: str) -> list[str]:
    with open(log, errors='replace') as f:
        return [line.rstrip() for line in f if ': error: ' in line or 'Error ' in line]


def _check(wt: str, bdir: str, objs: list[str], files: list[str], checker: str,
           log: str) -> Diagnostics:
    """Compile @objs with W=1 (or run sparse on them); diagnostics in @files."""
    # Sparse runs after the W=1 pass with the same flags, so that make
    # recompiles nothing and the output is sparse's alone.
    extra = ['W=1'] if checker == 'w1' else ['W=1', 'C=2']
    if checker == 'w1':
        for o in objs:
            # Recompile even if up to date: the warnings are the point.
            for p in (os.path.join(bdir, o), os.path.join(bdir, os.path.dirname(o),
                                                           '.' + os.path.basename(o) + '.cmd')):
                if os.path.exists(p):
                    os.unlink(p)
    cmd = ['make', '-C', wt, 'ARCH=um', f'O={bdir}', 'CC=ccache gcc', *extra, *objs]
    res = run(cmd, check=False, capture=True, env=kunitrun.build_env())
    with open(log, 'w') as f:
        f.write(res.stdout + res.stderr)
    if res.returncode != 0:
        raise RigError(f'{checker} check failed ({res.returncode}): see {log}')
    return parse_diagnostics(res.stderr + res.stdout, files)


def bisect_build(base: tree.Base, jobs: int, checks: bool = True) -> dict[str, Any]:
    """Build base + each patch; return (steps, first failing step or None)."""
    patches = tree.series_files(base.series)
    if not patches:
        raise RigError(f'base {base.name} has no series to bisect')
    wt = worktree(base)
    bdir = os.path.join(cache_dir(), 'build', base.key, 'bisect')
    os.makedirs(bdir, exist_ok=True)
    rdir = os.path.join(results_dir(), 'bisect')
    shutil.rmtree(rdir, ignore_errors=True)
    os.makedirs(rdir)
    files = touched_files(patches)
    cfiles = [f for f in files if f.endswith('.c')]
    objs = [f[:-2] + '.o' for f in cfiles]
    if checks and shutil.which('sparse') is None:
        raise RigError('sparse is not installed (Debian package "sparse")')

    steps = [Step('base', None)] + [Step(os.path.basename(p), p) for p in patches]
    failed = None
    git(wt, 'am', '--abort', check=False)
    git(wt, 'checkout', '-q', '-f', '--detach', 'rig-pristine')
    for i, step in enumerate(steps):
        if step.patch:
            res = tree.am(wt, step.patch)
            if res.returncode:
                raise RigError(f'{step.name} does not apply on the steps before it: '
                               + res.stderr.strip())
        info(f'[bisect] {i}/{len(steps) - 1} {step.name}: building')
        log = os.path.join(rdir, f'{i:02d}-build.log')
        step.build_ok, step.build_seconds = _build(base, wt, bdir, jobs, log)
        if not step.build_ok:
            step.errors = _errors(log)
            failed = step
            break
        # A file the series adds exists only from its patch on.
        here = [o for o in objs if os.path.exists(os.path.join(wt, o[:-2] + '.c'))]
        missing = [o for o in here if not os.path.exists(os.path.join(bdir, o))]
        if missing:
            raise RigError('the bisect configuration does not build '
                           + ', '.join(missing) + ': extend the fragments of the '
                           'bisect-build profile in configs/profiles.ini')
        step.tests, step.gate_failures = _exec(
            base, wt, bdir, jobs, os.path.join(rdir, f'{i:02d}-exec.log'))
        if checks:
            step.w1 = _check(wt, bdir, here, files, 'w1',
                             os.path.join(rdir, f'{i:02d}-w1.log'))
            step.sparse = _check(wt, bdir, here, files, 'sparse',
                                 os.path.join(rdir, f'{i:02d}-sparse.log'))
    out = {**base.result_fields(), 'kernel_version': tree.kernel_version(base.tree),
           'files': files,
           'checks': checks,
           'steps': [s.to_json(steps[0] if i else None) for i, s in enumerate(steps)
                     if s.build_ok is not None],
           'first_broken': failed.name if failed else None}
    with open(os.path.join(rdir, 'summary.json'), 'w') as f:
        json.dump(out, f, indent=1)
    return out


def report(out: dict[str, Any]) -> str:
    lines = [f'{"step":<64} {"build":>7} {"tests p/f/s":>12} {"W=1 new/all":>12} '
             f'{"sparse new/all":>15}']
    for s in out['steps']:
        build = f'{s["build_seconds"]:.0f} s' if s['build_ok'] else 'BROKEN'
        w1 = f'{s["w1"]["new"]}/{s["w1"]["total"]}' if out['checks'] else '-'
        sp = f'{s["sparse"]["new"]}/{s["sparse"]["total"]}' if out['checks'] else '-'
        t = s.get('tests')
        tests = f'{t["passed"]}/{t["failed"]}/{t["skipped"]}' if t else '-'
        lines.append(f'{s["step"][:64]:<64} {build:>7} {tests:>12} {w1:>12} {sp:>15}')
        for g in s.get('gate_failures') or []:
            lines.append(f'    gate: {g}')
        for d in s['w1']['new_list'] + s['sparse']['new_list']:
            lines.append(f'    new: {d}')
        for e in s['errors'][:10]:
            lines.append(f'    {e}')
    return '\n'.join(lines)


def passed(out: dict[str, Any]) -> bool:
    if out['first_broken']:
        return False
    if any(s.get('gate_failures') for s in out['steps']):
        return False
    return all(s['w1']['new'] == 0 and s['sparse']['new'] == 0 for s in out['steps'])
