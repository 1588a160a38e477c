"""rig bench --pristine: what the series costs the notifiers it leaves alone.

The claim a linux-mm reviewer asks of the series is that it costs nothing
to the single-pass mmu_interval_notifier users the kernel already has.
kunit/mmu_notifier_core_bench.c measures them through the interface every
kernel has; here it is built in the bench-core profile on both sides of
the base (riglib.sides: the pristine tree, and the tree with its series),
the two configurations are checked identical, and the two kernels are
booted in turn, pristine first, for a number of rounds: drift of the host
over the run then falls on both sides alike.

Where one boot's kernel and the host's caches land differs from boot to
boot more than one boot's samples differ among themselves, so the unit of
comparison is the boot:

  per side and K, the median over the boots of each boot's median;
  ratio = series / pristine of those;
  each round's own ratio, and half their interquartile range, the
  resolution of the ratio: a ratio is resolved if that is at most the
  target's margin. A quartile, not the full range: one boot that the host
  slowed down must not make every ratio unresolved;
  and the ratio of the fastest boots (the minimum over boots of each
  boot's median). Under UML here a boot is fast or slow as a whole (every
  point of a slow boot about 60 % slower, on either kernel, pinned to one
  host CPU or not), so the median over boots mixes the two states and the
  best boots compare the code alone.

Both kernels run the same points in the same order: the series' extra
null-finish points are switched off (mmu_notifier_core_bench.null_finish=0),
or what they allocate would shift later points on one side only.

Results: results/<base>/bench-pristine/<side>-<round>/ (the gate's
summary and console of each boot) and pristine.json.
"""

import json
import os
import shutil
import statistics

from . import bench, kunitrun, profiles, sides, tree
from .util import RigError, info, results_dir

SUITE = 'mmu_notifier_core_bench'
OUT = 'bench-pristine'
# The series may cost single-pass notifiers at most 2 %.
TARGET = 1.02


def config_difference(a: str, b: str) -> list[str]:
    """Lines of .config @a and @b that differ, or [] if they are the same."""
    def lines(path: str) -> list[str]:
        with open(path) as f:
            # Symbols, set or "is not set"; not the header's comments.
            return [ln.rstrip('\n') for ln in f
                    if ln.startswith('CONFIG_') or ln.startswith('# CONFIG_')]
    la, lb = lines(a), lines(b)
    sa, sb = set(la), set(lb)
    return [f'- {ln}' for ln in la if ln not in sb] + [f'+ {ln}' for ln in lb if ln not in sa]


def compare(rounds: list[dict[str, list[bench.Point]]]) -> list[bench.Row]:
    """Rows per K from @rounds: a list of {side: BENCH points of that boot}."""
    rows = []
    ks = sorted({p['n'] for r in rounds for p in r['pristine']
                 if p['scenario'] == 'core' and p['mode'] == 'single-pass'})
    for k in ks:
        medians: dict[str, list[int]] = {side: [] for side in sides.SIDES}
        for r in rounds:
            got = {side: next((p['median_ns'] for p in r[side] if p['scenario'] == 'core'
                               and p['mode'] == 'single-pass' and p['n'] == k), None)
                   for side in sides.SIDES}
            for side, value in got.items():
                if value is None:
                    raise RigError(f'a boot printed no core point for K = {k}')
                medians[side].append(value)
        mid = {side: statistics.median(v) for side, v in medians.items()}
        per_round = [s / p for p, s in zip(medians['pristine'], medians['series'])]
        ratio = mid['series'] / mid['pristine']
        # 'inclusive': with 5 boots the quartiles are the 2nd and 4th ratio.
        quartiles = statistics.quantiles(per_round, n=4, method='inclusive')
        half_iqr = (quartiles[2] - quartiles[0]) / 2
        resolved = half_iqr <= TARGET - 1
        best = min(medians['series']) / min(medians['pristine'])
        rows.append({
            'notifiers': k, 'best_ratio': best,
            'pristine_us': mid['pristine'] / 1e3, 'series_us': mid['series'] / 1e3,
            'boot_medians_ns': medians,
            'spread': {side: (max(v) - min(v)) / mid[side] for side, v in medians.items()},
            'ratio': ratio, 'round_ratios': per_round, 'half_iqr': half_iqr,
            'verdict': ('met' if ratio <= TARGET else 'missed') if resolved else 'unresolved',
        })
    return rows


def format_rows(rows: list[bench.Row]) -> str:
    out = [f'{"K":>5} {"pristine us":>11} {"series us":>9} {"ratio":>6} {"+-IQR/2":>7} '
           f'{"rounds min-max":>14} {"spread p/s":>11} {"best boots":>10}  '
           f'verdict (target {TARGET})']
    for r in rows:
        lo, hi = min(r['round_ratios']), max(r['round_ratios'])
        out.append(f'{r["notifiers"]:>5} {r["pristine_us"]:>11.3f} {r["series_us"]:>9.3f} '
                   f'{r["ratio"]:>6.3f} {r["half_iqr"]:>7.3f} {lo:>6.3f}-{hi:<7.3f} '
                   f'{r["spread"]["pristine"] * 100:>4.1f}/{r["spread"]["series"] * 100:<4.1f}% '
                   f'{r["best_ratio"]:>10.3f}  {r["verdict"]}')
    return '\n'.join(out)


def run(base: tree.Base, jobs: int, boots: int, reps: int) -> int:
    """Build both sides, boot them @boots times each in turn; 0 if every
    boot passed the gate (the verdicts are reported, not judged). The
    counts were checked with the command line (rig's check_args())."""
    profile = profiles.for_command('bench --pristine')
    version = tree.kernel_version(base.tree)
    out = os.path.join(results_dir(), OUT)
    shutil.rmtree(out, ignore_errors=True)
    wts = {side: sides.worktree(base, side) for side in sides.SIDES}
    bdirs = {side: f'{kunitrun.build_dir(base, profile)}-{side}' for side in sides.SIDES}
    rounds = []
    for i in range(boots):
        points = {}
        for side in sides.SIDES:
            name = f'{OUT}/{side}-{i}'
            summary = kunitrun.run_profile(
                base, profile, version, jobs, filter_glob=SUITE,
                kernel_args=[f'{SUITE}.reps={reps}', f'{SUITE}.null_finish=0'],
                name=name, tree=wts[side],
                bdir=bdirs[side], rebuild=i == 0)
            if not summary.passed:
                raise RigError(f'the {side} kernel failed: see '
                               f'{os.path.join(results_dir(), name)}/summary.json')
            with open(os.path.join(results_dir(), name, 'console.log')) as f:
                points[side] = bench.parse(f.read())
        if i == 0:
            diff = config_difference(*(os.path.join(bdirs[s], '.config') for s in sides.SIDES))
            if diff:
                raise RigError('the two sides were not configured alike:\n' + '\n'.join(diff))
        info(f'[{OUT}] round {i + 1}/{boots} done')
        rounds.append(points)
    rows = compare(rounds)
    m = bench.machine()
    data = {**base.result_fields(), 'kernel_version': version, 'boots': boots, 'reps': reps,
            'commits': {side: sides.commit_of(base, side) for side in sides.SIDES},
            'machine': m, 'target': TARGET, 'rows': rows,
            'rounds': rounds}
    with open(os.path.join(out, 'pristine.json'), 'w') as f:
        json.dump(data, f, indent=1)
    print(f'\nbase {base.name}, kernel {version} under UML, pristine against the series, '
          f'{boots} boots each in turn, {reps} samples (a batch of munmaps each) per boot; host '
          f'{m["arch"]} {m["cpu"]} ({m["cpus"]} CPUs)')
    print(format_rows(rows))
    info(f'wrote {os.path.relpath(os.path.join(out, "pristine.json"))}')
    return 0
