"""rig hmm: upstream's own HMM tests, on the pristine base and with the series.

lib/test_hmm.c and tools/testing/selftests/mm/hmm-tests.c are upstream's
test of a single-pass mmu_interval_notifier user, written outside this
project: the regression check that the series leaves the notifier core's
unconverted users alone. The hmm profile's configuration holds no rig
code, so it builds on the pristine base too. It is built in the worktree
of each side (riglib.sides: rig-pristine, and the series' last patch),
each in a build directory of its own: the series changes
include/linux/mmu_notifier.h, which x86's asm/tlbflush.h includes, so
nearly every object differs, and one directory flipped between the two
would rebuild it all every run.
Each kernel boots an initramfs whose only program is hmm-tests, under
QEMU as kunit.py runs the profile's architecture.

Each boot passes the splat gate on its own. The step fails when a test
that passes on the base does not pass with the series, or when fewer
tests pass. Results: results/<base>/hmm/{base,series}/ (console, summary)
and hmm.json with both lists and the comparison.
"""

import json
import os
import shutil
from typing import Any

from . import gate, kunitrun, profiles, qemu, sides, tree, userspace
from .summary import Summary
from .util import RigError, info, results_dir, run

PROGRAM = 'hmm-tests'
# hmm-tests' hugetlbfs cases skip without free huge pages. With THP for
# every anonymous mapping (the kernel's default, "always") the exclusive,
# exclusive_mprotect and exclusive_cow cases fail on pristine 6.12 with
# -EBUSY: its make_device_exclusive_range() cannot take a PMD-mapped THP,
# and their buffers become ones. With "madvise" all 29 cases on device
# private memory pass, anon_write_huge (which asks for a THP) included.
KERNEL_ARGS = ['hugepages=16', 'transparent_hugepage=madvise']
SIDES = ('base', 'series')


def build_hmm_tests(src: str, bdir: str, out: str) -> None:
    """hmm-tests of the tree @src, static, against its own uapi headers."""
    res = run(['make', '-C', src, 'ARCH=x86_64', f'O={bdir}', 'headers'],
              check=False, capture=True)
    if res.returncode:
        raise RigError(f'make headers failed in {bdir}:\n{res.stderr.strip()[-2000:]}')
    mm = os.path.join(src, 'tools', 'testing', 'selftests', 'mm')
    # What the selftests Makefile links every mm test with: vm_util.c and
    # the huge page settings helpers (thp_settings.c in 6.12,
    # hugepage_settings.c in 7.3).
    sources = [os.path.join(mm, f) for f in ('hmm-tests.c', 'vm_util.c', 'thp_settings.c',
                                             'hugepage_settings.c')
               if os.path.isfile(os.path.join(mm, f))]
    # The flags of tools/testing/selftests/mm/Makefile, static.
    cmd = ['gcc', '-static', '-O2', '-Wall', '-pthread',
           '-isystem', os.path.join(bdir, 'usr', 'include'),
           '-I', os.path.join(src, 'tools', 'testing', 'selftests'), '-I', src,
           '-o', out, *sources, '-lrt', '-lm']
    res = run(cmd, check=False, capture=True)
    if res.returncode:
        raise RigError(f'cannot build {PROGRAM} of {src}:\n{res.stderr.strip()[-3000:]}')


def side(base: tree.Base, profile: profiles.Profile, wt: str, commit: str, bdir: str,
         jobs: int, rdir: str, version: str) -> Summary:
    """Build and boot one side, worktree @wt at @commit; its summary."""
    os.makedirs(rdir)
    fields: dict[str, Any] = {**base.result_fields(), 'commit': commit}
    summary = Summary(profile=f'{profile.name}-{os.path.basename(rdir)}', kernel_version=version,
                      build_dir=bdir, **fields)
    failure = kunitrun.build(base, profile, jobs, rdir, summary, tree=wt, bdir=bdir)
    if failure:
        summary.failures.append(failure)
        return summary
    root = userspace.new_root(os.path.join(bdir, 'hmm-root'))
    userspace.build_init(root)
    build_hmm_tests(wt, bdir, os.path.join(root, PROGRAM))
    initramfs = os.path.join(bdir, 'hmm.cpio')
    userspace.write_initramfs(bdir, root, initramfs)
    params = userspace.boot_args(root, None, None, KERNEL_ARGS, profile.userspace,
                                 programs=[PROGRAM])
    cmd = qemu.command(wt, profile, bdir, params, userspace=True) + ['-initrd', initramfs]
    console, summary.run_seconds, timed_out = userspace.boot(
        cmd, rdir, env=kunitrun.exec_env(wt, profile, bdir))
    summary = kunitrun.judge(summary.profile, rdir, summary, console,
                             'killed' if timed_out else None)
    # Each test's status, for the comparison.
    summary.statuses = dict(gate.judge(console).tests)
    return summary


def compare(base_results: dict[str, str], series_results: dict[str, str]) -> dict[str, Any]:
    """What the series lost: tests passing on the base and not with it, and
    tests failing with it that do not fail on the base."""
    lost = sorted(t for t, s in base_results.items()
                  if s == 'pass' and series_results.get(t) != 'pass')
    broke = sorted(t for t, s in series_results.items()
                   if s == 'fail' and base_results.get(t) not in ('fail', 'pass'))
    count = {side: sum(1 for s in r.values() if s == 'pass')
             for side, r in zip(SIDES, (base_results, series_results))}
    failures = [f'{t}: passes on the base, {series_results.get(t, "missing")} '
                'with the series' for t in lost]
    failures += [f'{t}: {base_results.get(t, "missing")} on the base, fails with the series'
                 for t in broke]
    if count['series'] < count['base']:
        failures.append(f'{count["series"]} tests pass with the series, '
                        f'{count["base"]} on the base')
    return {'passed': count, 'lost': lost + broke, 'failures': failures}


def run_hmm(base: tree.Base, jobs: int) -> int:
    """The comparison on @base; 0 if the series loses nothing, else 1."""
    if not base.series:
        raise RigError(f'base {base.name} has no series: nothing to compare')
    profile = profiles.for_command('hmm')
    version = tree.kernel_version(base.tree)
    out = os.path.join(results_dir(), profile.name)
    shutil.rmtree(out, ignore_errors=True)
    summaries = {}
    for name, which in zip(SIDES, sides.SIDES):
        wt = sides.worktree(base, which)
        commit = sides.commit_of(base, which)
        bdir = f'{kunitrun.build_dir(base, profile)}-{name}'
        os.makedirs(bdir, exist_ok=True)
        info(f'[hmm] {name}: building {commit} and booting {PROGRAM}')
        summaries[name] = side(base, profile, wt, commit, bdir, jobs,
                               os.path.join(out, name), version)
    # A side fails on its own for a splat, a crash, a timeout or a build;
    # which tests fail is the comparison's to judge (some fail on the
    # base too, see docs/upstream.md).
    failures = [f'{name}: {f}' for name, s in summaries.items() for f in s.failures
                if f.kind != gate.TEST]
    results = {}
    if not failures:
        results = {name: s.statuses for name, s in summaries.items()}
        comparison = compare(results['base'], results['series'])
        failures = comparison['failures']
    else:
        comparison = None
    with open(os.path.join(out, 'hmm.json'), 'w') as f:
        json.dump({'base': base.name, 'results': results, 'comparison': comparison,
                   'failures': failures,
                   'seconds': {n: (s.build_seconds, s.run_seconds)
                               for n, s in summaries.items()}}, f, indent=1)
    print(report(results, failures))
    return 1 if failures else 0


def report(results: dict[str, dict[str, str]], failures: list[str]) -> str:
    """A table of each test on both sides, then what failed."""
    lines = []
    if results:
        names = sorted(set(results['base']) | set(results['series']))
        width = max(len(n) for n in names) if names else 4
        lines.append(f'{"test":{width}}  base  series')
        for n in names:
            lines.append(f'{n:{width}}  {results["base"].get(n, "-"):4}  '
                         f'{results["series"].get(n, "-")}')
    lines += [f'FAIL: {f}' for f in failures]
    return '\n'.join(lines)
