"""scripts/rig coverage: line and branch coverage of the new code, with lcov.

Runs the suites in the coverage profile (gcov on UML: the kernel writes its
.gcda files into the build directory when it exits), captures them with
lcov, writes an HTML report under results/coverage/html and reports:

  (a) the lines kernel-patches/0001 adds or changes in mm/mmu_notifier.c,
      lines and branches (on the upstream base: those lines in the merged
      code, found by their text);
  (b) fake-gpu/, lines and branches;
  (c) drivers/gpu/drm/drm_gpusvm.c, lines, branches and the functions
      never called, where the base has drm_gpusvm (upstream: the profile's
      fragments.upstream builds it and its suite); no target;
  (d) where the base's own series changes drm_gpusvm.c (upstream-rfc:
      rfc/0003, the two-pass interface), the lines it adds there.

Targets: (a) 100 % of lines and 90 % of branches, (b) 90 % of lines,
(d) 100 % of lines.
"""

import difflib
import glob
import json
import os
import re
import shutil
from typing import Any

from . import diffs, tree as tree_mod
from .util import REPO, RigError, results_dir, run

# parse_info(): {source file: {'lines': {n: hits}, 'branches': {(n, id): taken},
#                              'functions': {name: calls}}}
Info = dict[str, dict[str, dict[Any, int]]]

CORE_FILE = 'mm/mmu_notifier.c'
GPUSVM_FILE = 'drivers/gpu/drm/drm_gpusvm.c'
# fake-gpu/ as staged in the tree; gcov records it under the tree, or
# relative to the build directory when the compiler was handed relative
# paths (ccache with CCACHE_BASEDIR, as in the CI jobs).
FAKE_GPU_DIR = 'lib/two-pass-rig/fake-gpu/'


def is_fake_gpu(path: str) -> bool:
    """Whether the source file @path (as lcov records it) is fake-gpu/'s."""
    return FAKE_GPU_DIR in path


TARGETS = {'core_lines': 100.0, 'core_branches': 90.0, 'fake_gpu_lines': 90.0,
           'series_gpusvm_lines': 100.0}


def added_lines(patch: str, path: str = CORE_FILE,
                texts: dict[int, str] | None = None) -> set[int]:
    """New-file line numbers of the '+' lines @patch adds to @path.

    With a dict @texts, also record each line's text there.
    """
    lines: set[int] = set()
    for hunk in diffs.parse_file(patch):
        if hunk.path != path:
            continue
        for number, text in hunk.added():
            lines.add(number)
            if texts is not None:
                texts[number] = text
    return lines


def core_lines(tree: str, patch: str, path: str = CORE_FILE) -> tuple[set[int], int]:
    """The lines of @tree's @path (mm/mmu_notifier.c) that are @patch's added lines.

    On the 6.12 base @patch (0001) is applied and these are its own line
    numbers. The upstream base carries the merged code instead, which 0001
    follows line for line: its added lines are found there by matching
    their text in order (difflib), and lines that match nowhere are left
    out. Returns (lines, number of 0001's lines not found).
    """
    texts: dict[int, str] = {}
    added_lines(patch, path, texts=texts)
    order = sorted(texts)
    with open(os.path.join(tree, path), errors='replace') as f:
        have = f.read().splitlines()
    matcher = difflib.SequenceMatcher(None, [texts[n] for n in order], have,
                                      autojunk=False)
    found: set[int] = set()
    for a, b, size in matcher.get_matching_blocks():
        found.update(b + k + 1 for k in range(size))
    return found, len(order) - len(found)


def core_patch(base: tree_mod.Base) -> str:
    """kernel-patches/ 0001, the core patch, whatever the base's series."""
    patches = glob.glob(os.path.join(REPO, 'kernel-patches', '0001-*.patch'))
    if len(patches) != 1:
        raise RigError('kernel-patches/ needs exactly one 0001-*.patch (the core)')
    return patches[0]


def series_patch(base: tree_mod.Base, path: str) -> str | None:
    """The last of @base's own patches (not its prerequisites) that adds
    lines to @path, or None."""
    if base.series is None:
        return None
    own = tree_mod.split_series(base.series)[1]
    found = [p for p in own if added_lines(p, path)]
    return found[-1] if found else None


def measure_lines(data: dict[str, dict[Any, int]] | None, lines: set[int],
                  prefix: str) -> dict[str, Any]:
    """Coverage of @lines of one file's @data, keys @prefix_*."""
    da = {n: h for n, h in (data or {}).get('lines', {}).items() if n in lines}
    return {f'{prefix}_lines': percent(sum(1 for h in da.values() if h), len(da)),
            f'{prefix}_lines_total': len(da),
            f'{prefix}_lines_missed': sorted(n for n, h in da.items() if not h)}


def parse_info(path: str) -> Info:
    """{source file: {'lines': {n: hits}, 'branches': {(n, id): taken},
    'functions': {name: calls}}}."""
    files: Info = {}
    cur: dict[str, dict[Any, int]] | None = None
    with open(path, errors='replace') as f:
        for text in f:
            text = text.strip()
            if text.startswith('SF:'):
                cur = files.setdefault(os.path.normpath(text[3:]),
                                       {'lines': {}, 'branches': {}, 'functions': {}})
            elif text.startswith('FNDA:') and cur is not None:
                calls, name = text[5:].split(',', 1)
                cur['functions'][name] = cur['functions'].get(name, 0) + int(calls)
            elif text.startswith('DA:') and cur is not None:
                line, hits = text[3:].split(',')[:2]
                cur['lines'][int(line)] = cur['lines'].get(int(line), 0) + int(hits)
            elif text.startswith('BRDA:') and cur is not None:
                line, block, branch, taken = text[5:].split(',')
                key = (int(line), f'{block}.{branch}')
                hit = 0 if taken == '-' else int(taken)
                cur['branches'][key] = cur['branches'].get(key, 0) + hit
    return files


def percent(covered: int, total: int) -> float:
    return 100.0 * covered / total if total else 100.0


def measure_file(data: dict[str, dict[Any, int]], prefix: str) -> dict[str, Any]:
    """Lines, branches and uncalled functions of one file, keys @prefix_*."""
    da, br, fn = data['lines'], data['branches'], data['functions']
    return {
        f'{prefix}_lines': percent(sum(1 for h in da.values() if h), len(da)),
        f'{prefix}_lines_total': len(da),
        f'{prefix}_branches': percent(sum(1 for t in br.values() if t), len(br)),
        f'{prefix}_branches_total': len(br),
        f'{prefix}_functions_total': len(fn),
        f'{prefix}_functions_missed': sorted(n for n, c in fn.items() if not c),
    }


def measure(files: Info, core_lines: set[int]) -> dict[str, Any]:
    core = next((v for k, v in files.items() if k.endswith('/' + CORE_FILE)), None)
    if core is None:
        raise RigError(f'no coverage data for {CORE_FILE}: was the kernel built with gcov?')
    core_da = {n: h for n, h in core['lines'].items() if n in core_lines}
    core_br = {k: t for k, t in core['branches'].items() if k[0] in core_lines}
    fg = {k: v for k, v in files.items() if is_fake_gpu(k)}
    if not fg:
        raise RigError('no coverage data for fake-gpu/')
    fg_da = [(k, n, h) for k, v in fg.items() for n, h in v['lines'].items()]
    fg_br = [t for v in fg.values() for t in v['branches'].values()]
    gpusvm = next((v for k, v in files.items() if k.endswith('/' + GPUSVM_FILE)), None)
    return {
        **(measure_file(gpusvm, 'gpusvm') if gpusvm else {}),
        'core_lines': percent(sum(1 for h in core_da.values() if h), len(core_da)),
        'core_lines_total': len(core_da),
        'core_lines_missed': sorted(n for n, h in core_da.items() if not h),
        'core_branches': percent(sum(1 for t in core_br.values() if t), len(core_br)),
        'core_branches_total': len(core_br),
        'core_branches_missed': sorted({k[0] for k, t in core_br.items() if not t}),
        'fake_gpu_lines': percent(sum(1 for _, _, h in fg_da if h), len(fg_da)),
        'fake_gpu_lines_total': len(fg_da),
        'fake_gpu_branches': percent(sum(1 for t in fg_br if t), len(fg_br)),
        'fake_gpu_branches_total': len(fg_br),
        'fake_gpu_lines_missed': sorted(f'{os.path.basename(k)}:{n}'
                                        for k, n, h in fg_da if not h),
    }


def lcov(bdir: str, rdir: str) -> str:
    """Capture the run's .gcda files; return the path of our tracefile."""
    all_info = os.path.join(rdir, 'all.info')
    ours = os.path.join(rdir, 'ours.info')
    rc = ['--rc', 'lcov_branch_coverage=1']
    res = run(['lcov', '--quiet', '--capture', '--directory', bdir,
               '--output-file', all_info, *rc], check=False, capture=True)
    if res.returncode != 0:
        raise RigError(f'lcov --capture failed: {res.stderr.strip()[-500:]}')
    run(['lcov', '--quiet', '--extract', all_info, '*/' + CORE_FILE,
         '*/' + FAKE_GPU_DIR + '*', '*/' + GPUSVM_FILE, '--output-file', ours, *rc],
        capture=True)
    run(['genhtml', '--quiet', '--branch-coverage', '--output-directory',
         os.path.join(rdir, 'html'), ours], capture=True)
    return ours


def report(m: dict[str, Any]) -> str:
    def line(label: str, value: float, total: int, target: float | None = None) -> str:
        mark = '' if target is None else (' ok' if value >= target else f' MISSED (target {target:g} %)')
        return f'  {label:<44} {value:6.1f} % of {total}{mark}'
    out = ['Coverage of the new code',
           line('(a) 0001 lines in mm/mmu_notifier.c', m['core_lines'],
                m['core_lines_total'], TARGETS['core_lines']),
           line('(a) 0001 branches in mm/mmu_notifier.c', m['core_branches'],
                m['core_branches_total'], TARGETS['core_branches']),
           line('(b) fake-gpu/ lines', m['fake_gpu_lines'], m['fake_gpu_lines_total'],
                TARGETS['fake_gpu_lines']),
           line('(b) fake-gpu/ branches', m['fake_gpu_branches'], m['fake_gpu_branches_total'])]
    if 'gpusvm_lines' in m:
        out += [line('(c) drm_gpusvm.c lines', m['gpusvm_lines'], m['gpusvm_lines_total']),
                line('(c) drm_gpusvm.c branches', m['gpusvm_branches'],
                     m['gpusvm_branches_total'])]
    if m.get('core_lines_not_in_tree'):
        out.append(f'  (a) {m["core_lines_not_in_tree"]} of 0001\'s lines are not in this '
                   'tree\'s mm/mmu_notifier.c (left out)')
    if m['core_lines_missed']:
        out.append('  (a) lines never run: ' + ', '.join(map(str, m['core_lines_missed'])))
    if m['core_branches_missed']:
        out.append('  (a) lines with a branch never taken: '
                   + ', '.join(map(str, m['core_branches_missed'])))
    if 'series_gpusvm_lines' in m:
        out.append(line(f'(d) {m["series_gpusvm_patch"]} lines in drm_gpusvm.c',
                        m['series_gpusvm_lines'], m['series_gpusvm_lines_total'],
                        TARGETS['series_gpusvm_lines']))
        if m['series_gpusvm_lines_missed']:
            out.append('  (d) lines never run: '
                       + ', '.join(map(str, m['series_gpusvm_lines_missed'])))
    if m.get('gpusvm_functions_missed'):
        out.append(f'  (c) {len(m["gpusvm_functions_missed"])} of '
                   f'{m["gpusvm_functions_total"]} functions never called: '
                   + ', '.join(m['gpusvm_functions_missed']))
    return '\n'.join(out)


def met(m: dict[str, Any]) -> bool:
    """Every target met, of the measures this base has."""
    return all(m[k] >= v for k, v in TARGETS.items() if k in m)


def write(bdir: str, tree: str, core_patch: str, profile: str,
          gpusvm_patch: str | None = None) -> dict[str, Any]:
    """Capture, measure against @core_patch (0001) and, if given,
    @gpusvm_patch (the base's own change to drm_gpusvm.c), and write
    coverage.json beside @profile's results."""
    rdir = os.path.join(results_dir(), profile)
    ours = lcov(bdir, rdir)
    lines, unmatched = core_lines(tree, core_patch)
    files = parse_info(ours)
    m = measure(files, lines)
    m['core_lines_not_in_tree'] = unmatched
    if gpusvm_patch:
        added, _ = core_lines(tree, gpusvm_patch, GPUSVM_FILE)
        data = next((v for k, v in files.items() if k.endswith('/' + GPUSVM_FILE)), None)
        m.update(measure_lines(data, added, 'series_gpusvm'))
        m['series_gpusvm_patch'] = os.path.basename(gpusvm_patch)[:4]
    with open(os.path.join(rdir, 'coverage.json'), 'w') as f:
        json.dump(m, f, indent=1)
    return m


def check_tools() -> None:
    for tool in ('lcov', 'genhtml'):
        if shutil.which(tool) is None:
            raise RigError(f'{tool} not found: run "scripts/rig setup" as root (installs lcov)')

