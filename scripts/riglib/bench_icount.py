"""rig bench --icount: the notifier core's cost counted in instructions.

"rig bench --pristine" times the core under UML, where a boot is fast or
slow as a whole and two boots of one kernel differ by more than the 2 %
a reviewer asks about. Here the same suite (kunit/mmu_notifier_core_bench.c)
runs on x86_64 under QEMU with -icount (the bench-icount profile): guest
time advances by executed instructions only, one instruction per ns, and
the TSC reads that clock. A munmap's time in the guest is then the number
of instructions the kernel executed for it, independent of the host's
load and speed.

Three kernels from the same tree (the base's pristine 7.3.4), each in a
worktree of its own (riglib.sides.variant_worktree()):

  pre-series  the core before the two-pass series
              (kernel-patches/bench/pre-series-core-7.3.4.patch);
  shipped     the core as merged;
  rfc-0001    the merged core with RFC 0001 (kernel-patches/rfc/).

The configurations are checked identical, and the kernels are booted in
turn for a number of rounds. Per kernel and K the value is the median
over boots of each boot's median; the spread is (max - min) / median of
the boots' medians. A ratio is resolved when the spread of both its
kernels is at most SPREAD_GOAL.

What instruction counts cannot see: caches, branch prediction, the cost
of an atomic or an indirect call beyond one instruction. UML timings
(rig bench --pristine) see those, with their noise. docs/bench.md has
both.

Results: results/<base>/bench-icount/<kernel>-<round>/ (each boot's
summary and console) and icount.json.
"""

import glob
import json
import os
import re
import shutil
import statistics

from . import bench, bench_pristine, kunitrun, profiles, sides, tree
from .util import REPO, RigError, git, info, results_dir

SUITE = bench_pristine.SUITE
OUT = 'bench-icount'
# The reference first: the others are compared with it.
KERNELS = ('pre-series', 'shipped', 'rfc-0001')
REFERENCE = 'pre-series'
# A ratio resolves a 1 % difference only if each side's boots agree to 0.2 %.
SPREAD_GOAL = 0.002
# RFC 0001's claim: single-pass notifiers cost what they did before the series.
RFC_TARGET = 1.01


def patches(kernel: str, version: str) -> list[str]:
    """The patches @kernel carries on the pristine @version tree, as
    absolute paths."""
    if kernel == 'pre-series':
        pattern = f'kernel-patches/bench/pre-series-core-{version}.patch'
    elif kernel == 'shipped':
        return []
    elif kernel == 'rfc-0001':
        pattern = 'kernel-patches/rfc/0001-*.patch'
    else:
        raise RigError(f'unknown kernel {kernel!r} (known: {", ".join(KERNELS)})')
    found = sorted(glob.glob(os.path.join(REPO, pattern)))
    if len(found) != 1:
        raise RigError(f'{pattern}: {len(found)} files, not one')
    return found


def check_base(base: tree.Base) -> None:
    """@base's pristine tree must have the merged two-pass core."""
    header = git(base.tree, 'show', 'rig-pristine:include/linux/mmu_notifier.h', check=False)
    if 'invalidate_finish' not in header:
        raise RigError(f'base {base.name}: its pristine kernel has no two-pass core; '
                       '"rig bench --icount" compares the merged core with the one '
                       'before it (use --base upstream)')


# The guest's TSC must count one tick per ns, that is per instruction.
TSC_MHZ = 1000.0

# "Detected N MHz processor" is cpu_khz; "Detected N MHz TSC" follows
# when the TSC's rate differs from it (tsc_early_khz=), else it is the
# TSC's too; the refined rate comes about a second after boot.
_CPU_MHZ = re.compile(r'tsc: Detected ([0-9.]+) MHz processor')
_TSC_MHZ = re.compile(r'tsc: (?:Detected ([0-9.]+) MHz TSC|'
                      r'Refined TSC clocksource calibration: ([0-9.]+) MHz)')


def tsc_mhz(console: str) -> list[float]:
    """Every rate the guest gives its TSC in @console: the early one, then
    the refined one."""
    rates = [float(a or b) for a, b in _TSC_MHZ.findall(console)]
    early_tsc = 'MHz TSC' in console
    cpu = [] if early_tsc else [float(x) for x in _CPU_MHZ.findall(console)]
    return cpu + rates


def compare(rounds: list[dict[str, list[bench.Point]]]) -> list[bench.Row]:
    """Rows per K from @rounds: a list of {kernel: core points of that boot}."""
    rows = []
    ks = sorted({p['n'] for r in rounds for p in r[REFERENCE]
                 if p['scenario'] == 'core' and p['mode'] == 'single-pass'})
    for k in ks:
        medians: dict[str, list[int]] = {kernel: [] for kernel in KERNELS}
        for r in rounds:
            for kernel in KERNELS:
                value = next((p['median_ns'] for p in r.get(kernel, [])
                              if p['scenario'] == 'core' and p['mode'] == 'single-pass'
                              and p['n'] == k), None)
                if value is None:
                    raise RigError(f'a boot of the {kernel} kernel printed no core '
                                   f'point for K = {k}')
                medians[kernel].append(value)
        mid = {kernel: statistics.median(v) for kernel, v in medians.items()}
        spread = {kernel: (max(v) - min(v)) / mid[kernel] for kernel, v in medians.items()}
        ratios = {kernel: mid[kernel] / mid[REFERENCE] for kernel in KERNELS
                  if kernel != REFERENCE}
        resolved = {kernel: max(spread[kernel], spread[REFERENCE]) <= SPREAD_GOAL
                    for kernel in ratios}
        rfc = 'rfc-0001'
        rows.append({
            'notifiers': k, 'ns': mid, 'boot_medians_ns': medians, 'spread': spread,
            'ratio': ratios, 'resolved': resolved,
            'rfc_verdict': ('met' if ratios[rfc] <= RFC_TARGET else 'missed')
            if resolved[rfc] else 'unresolved',
        })
    return rows


def format_rows(rows: list[bench.Row]) -> str:
    others = [k for k in KERNELS if k != REFERENCE]
    out = [f'{"K":>5} ' + ' '.join(f'{k + " ns":>14}' for k in KERNELS) + ' ' +
           ' '.join(f'{k + "/pre":>12}' for k in others) + f' {"spread max":>10}  '
           f'rfc-0001 (target {RFC_TARGET})']
    for r in rows:
        out.append(f'{r["notifiers"]:>5} ' +
                   ' '.join(f'{r["ns"][k]:>14.0f}' for k in KERNELS) + ' ' +
                   ' '.join(f'{r["ratio"][k]:>12.4f}' for k in others) +
                   f' {max(r["spread"].values()) * 100:>9.3f}%  {r["rfc_verdict"]}')
    return '\n'.join(out)


def run(base: tree.Base, jobs: int, boots: int, reps: int) -> int:
    """Build the three kernels, boot them @boots times each in turn; 0 if
    every boot passed the gate (the verdicts are reported, not judged)."""
    check_base(base)
    profile = profiles.for_command('bench --icount')
    version = tree.kernel_version(base.tree)
    # Every patch is found before a worktree is touched.
    carried = {k: patches(k, version) for k in KERNELS}
    # Written next to the last run's results, which are replaced only once
    # this run has its own.
    out = os.path.join(results_dir(), OUT)
    new = out + '.new'
    shutil.rmtree(new, ignore_errors=True)
    wts = {k: sides.variant_worktree(base, k, carried[k]) for k in KERNELS}
    bdirs = {k: f'{kunitrun.build_dir(base, profile)}-{k}' for k in KERNELS}
    rounds = []
    for i in range(boots):
        points = {}
        for k in KERNELS:
            name = f'{OUT}.new/{k}-{i}'
            summary = kunitrun.run_profile(
                base, profile, version, jobs, filter_glob=SUITE,
                kernel_args=[f'{SUITE}.reps={reps}', f'{SUITE}.null_finish=0'],
                name=name, tree=wts[k], bdir=bdirs[k], rebuild=i == 0)
            if not summary.passed:
                raise RigError(f'the {k} kernel failed: see '
                               f'{os.path.join(results_dir(), name)}/summary.json')
            with open(os.path.join(results_dir(), name, 'console.log')) as f:
                console = f.read()
            points[k] = bench.parse(console)
            mhz = tsc_mhz(console)
            if not mhz or set(mhz) != {TSC_MHZ}:
                raise RigError(f'the {k} kernel\'s TSC runs at {mhz or "?"} MHz, not '
                               f'{TSC_MHZ} throughout: its ns are not instructions (see '
                               f'{os.path.join(results_dir(), name)}/console.log)')
        if i == 0:
            for k in KERNELS[1:]:
                diff = bench_pristine.config_difference(
                    os.path.join(bdirs[REFERENCE], '.config'), os.path.join(bdirs[k], '.config'))
                if diff:
                    raise RigError(f'the {REFERENCE} and {k} kernels were not configured '
                                   'alike:\n' + '\n'.join(diff))
        info(f'[{OUT}] round {i + 1}/{boots} done')
        rounds.append(points)
    rows = compare(rounds)
    m = bench.machine()
    data = {**base.result_fields(), 'kernel_version': version, 'boots': boots, 'reps': reps,
            'qemu_args': profile.qemu_args.split(), 'kernel_args': profile.kernel_args,
            'tsc_mhz': TSC_MHZ,
            'commits': {k: git(wts[k], 'rev-parse', 'HEAD~1') for k in KERNELS},
            'machine': m, 'spread_goal': SPREAD_GOAL, 'rfc_target': RFC_TARGET,
            'rows': rows, 'rounds': rounds}
    with open(os.path.join(new, 'icount.json'), 'w') as f:
        json.dump(data, f, indent=1)
    shutil.rmtree(out, ignore_errors=True)
    os.rename(new, out)
    print(f'\nbase {base.name}, kernel {version} on x86_64 under QEMU TCG '
          f'({" ".join(profile.qemu_args.split())}): guest ns per munmap, one '
          f'instruction each (TSC {TSC_MHZ} MHz); '
          f'{boots} boots of each kernel in turn, {reps} samples (a batch of munmaps) '
          f'per boot; host {m["arch"]} {m["cpu"]}')
    print(format_rows(rows))
    info(f'wrote {os.path.relpath(os.path.join(out, "icount.json"))}')
    return 0
