"""scripts/rig bench: run the fake_gpu_bench suite, tabulate, plot.

The suite prints one KTAP diagnostic line per measured point:

  # <test>: BENCH scenario=<s> mode=<m> n=<N> latency_us=<L> job_us=<J>
    reps=<R> min_ns=<a> median_ns=<b> max_ns=<c>

(on one line). This module parses those lines from the console log, writes
results/bench/bench.json and bench.svg, and prints the tables.
"""

import json
import math
import os
import platform
import re
from typing import Any, Callable

from .summary import Summary
from .util import REPO, RigError, results_dir

# One BENCH line: scenario and mode (str), the INTS fields (int).
Point = dict[str, Any]
# A row of a table, as bench.json has it.
Row = dict[str, Any]

BENCH = re.compile(r'# \S+: BENCH (.*)$')
INTS = ('n', 'latency_us', 'job_us', 'reps', 'min_ns', 'median_ns', 'max_ns')


def parse(console: str) -> list[Point]:
    points = []
    for line in console.splitlines():
        m = BENCH.search(line)
        if not m:
            continue
        fields: Point = dict(kv.split('=', 1) for kv in m.group(1).split())
        try:
            for key in INTS:
                fields[key] = int(fields[key])
        except (KeyError, ValueError) as err:
            raise RigError(f'malformed BENCH line: {line.strip()} ({err})') from err
        points.append(fields)
    return points


def _ms(ns: float) -> float:
    return ns / 1e6


def _find(points: list[Point], scenario: str, mode: str, n: int,
          latency: int) -> Point | None:
    for p in points:
        if (p['scenario'], p['mode'], p['n'], p['latency_us']) == (scenario, mode, n, latency):
            return p
    return None


def _timers(points: list[Point], n: int, lat_us: int) -> int | None:
    """The floor point: N hrtimers of @lat_us, in ns."""
    p = _find(points, 'floor', 'hrtimers', n, lat_us)
    return p['median_ns'] if p else None


def _jobs_then_tlb(points: list[Point], n: int, j_us: int, lat_us: int) -> int | None:
    """The bind scenarios' floor: N emulated jobs of J ending (measured,
    same boot), then one TLB invalidation of L; without the jobs points,
    J plus N timers of L."""
    jobs = _find(points, 'jobs', 'jobs', n, 0)
    one = _timers(points, 1, lat_us)
    if jobs and one is not None:
        return jobs['median_ns'] + one
    timers = _timers(points, n, lat_us)
    return timers + j_us * 1000 if timers is not None else None


def _fences_then_tlb(points: list[Point], n: int, j_us: int, lat_us: int) -> int | None:
    """xe-bind's floor: N hrtimers of J (the VMs' running binds), then one
    TLB invalidation of L."""
    fences, one = _timers(points, n, j_us), _timers(points, 1, lat_us)
    return fences + one if fences is not None and one is not None else None


Ideal = Callable[[int, int, int], int]
# Per scenario, in ns of N, J and L: the two-pass ideal, the single-pass
# ideal; and the floor, from the points, N, J us and L us.
IDEALS: dict[str, tuple[Ideal, Ideal, Callable[[list[Point], int, int, int], int | None]]] = {
    # Every device's TLB invalidation in parallel, or one after another.
    'tlb': (lambda n, j, lat: lat, lambda n, j, lat: n * lat,
            lambda pts, n, j, lat: _timers(pts, n, lat)),
    # Every preemption in parallel, or one after another; no TLB work.
    'preempt': (lambda n, j, lat: j, lambda n, j, lat: n * j,
                lambda pts, n, j, lat: _timers(pts, n, j)),
    # The jobs run from before the munmap in parallel; then the TLB.
    'bind': (lambda n, j, lat: j + lat, lambda n, j, lat: j + n * lat, _jobs_then_tlb),
    # The same, each device's TLB invalidation submitted when its job ends.
    'bind-overlap': (lambda n, j, lat: j + lat, lambda n, j, lat: j + n * lat,
                     _jobs_then_tlb),
    # drm_gpusvm clients (drm_gpusvm_bench): every TLB invalidation in
    # parallel (the RFC's two passes), or one after another.
    'gpusvm': (lambda n, j, lat: lat, lambda n, j, lat: n * lat,
               lambda pts, n, j, lat: _timers(pts, n, lat)),
    # xe's own userptr notifier (xe_userptr_bench) on xe's fake device,
    # as it ships against its synchronous path: the fake GPU's scenarios.
    'xe-tlb': (lambda n, j, lat: lat, lambda n, j, lat: n * lat,
               lambda pts, n, j, lat: _timers(pts, n, lat)),
    'xe-preempt': (lambda n, j, lat: j, lambda n, j, lat: n * j,
                   lambda pts, n, j, lat: _timers(pts, n, j)),
    # Shipped, the finishes run one after another: J + N x L; RFC 0002
    # sends each TLB invalidation when its VM's fences signal: J + L.
    'xe-bind': (lambda n, j, lat: j + lat, lambda n, j, lat: j + n * lat,
                _fences_then_tlb),
}
# Scenarios with two-pass points only: the single-pass points they compare to.
SINGLE_FROM = {'bind-overlap': 'bind'}


def scaling_rows(points: list[Point], scenario: str) -> list[Row]:
    """Rows of the single- vs two-pass table, per latency and N."""
    ideal_two, ideal_single, floor_of = IDEALS[scenario]
    rows = []
    latencies = sorted({p['latency_us'] for p in points if p['scenario'] == scenario})
    for lat in latencies:
        ns = sorted({p['n'] for p in points if p['scenario'] == scenario and
                     p['latency_us'] == lat})
        for n in ns:
            single = _find(points, SINGLE_FROM.get(scenario, scenario), 'single-pass',
                           n, lat)
            two = _find(points, scenario, 'two-pass', n, lat)
            if not single or not two:
                continue
            job = two['job_us'] * 1000
            lat_ns = lat * 1000
            ideal = ideal_two(n, job, lat_ns)
            # The floor: what the emulation alone costs, in the same boot.
            floor_ns = floor_of(points, n, two['job_us'], lat)
            rows.append({
                'latency_us': lat, 'job_us': two['job_us'], 'n': n,
                'single_ms': _ms(single['median_ns']), 'two_ms': _ms(two['median_ns']),
                'two_min_ms': _ms(two['min_ns']), 'two_max_ms': _ms(two['max_ns']),
                'single_min_ms': _ms(single['min_ns']),
                'single_max_ms': _ms(single['max_ns']),
                'ideal_two_ms': _ms(ideal),
                'ideal_single_ms': _ms(ideal_single(n, job, lat_ns)),
                'two_over_ideal': two['median_ns'] / ideal,
                'single_over_ideal': single['median_ns'] / ideal_single(n, job, lat_ns),
                'speedup': single['median_ns'] / two['median_ns'],
                'floor_ms': _ms(floor_ns) if floor_ns else None,
                'two_over_floor': two['median_ns'] / floor_ns if floor_ns else None,
            })
    return rows


def core_rows(points: list[Point]) -> list[Row]:
    rows = []
    for n in sorted({p['n'] for p in points if p['scenario'] == 'core'}):
        single = _find(points, 'core', 'single-pass', n, 0)
        null = _find(points, 'core', 'null-finish', n, 0)
        if single and null:
            rows.append({'notifiers': n, 'single_us': single['median_ns'] / 1e3,
                         'null_finish_us': null['median_ns'] / 1e3,
                         'ratio': null['median_ns'] / single['median_ns']})
    return rows


def noise(points: list[Point]) -> Row | None:
    runs = [p for p in points if p['scenario'] == 'noise']
    if len(runs) < 2:
        return None
    a, b = runs[0]['median_ns'], runs[1]['median_ns']
    return {'n': runs[0]['n'], 'latency_us': runs[0]['latency_us'],
            'median_ms': [_ms(a), _ms(b)], 'spread': abs(a - b) / ((a + b) / 2)}


def format_scaling(rows: list[Row], title: str) -> str:
    out = [title, f'{"L us":>6} {"J us":>5} {"N":>3} {"single ms":>10} {"two ms":>8} '
           f'{"ideal two":>9} {"two/ideal":>9} {"floor ms":>8} {"two/floor":>9} '
           f'{"single/ideal":>12} {"speedup":>8}']
    for r in rows:
        floor = (f'{r["floor_ms"]:>8.3f} {r["two_over_floor"]:>9.2f}'
                 if r.get('floor_ms') else f'{"-":>8} {"-":>9}')
        out.append(f'{r["latency_us"]:>6} {r["job_us"]:>5} {r["n"]:>3} {r["single_ms"]:>10.3f} '
                   f'{r["two_ms"]:>8.3f} {r["ideal_two_ms"]:>9.3f} {r["two_over_ideal"]:>9.2f} '
                   f'{floor} {r["single_over_ideal"]:>12.2f} {r["speedup"]:>8.1f}')
    return '\n'.join(out)


def format_core(rows: list[Row]) -> str:
    out = ['Core overhead (munmap of 64 pages, K plain notifiers, no device; K = 0: one '
           'notifier elsewhere in the mm)',
           f'{"notifiers":>9} {"single-pass us":>14} {"null-finish us":>14} {"ratio":>6}']
    for r in rows:
        out.append(f'{r["notifiers"]:>9} {r["single_us"]:>14.1f} {r["null_finish_us"]:>14.1f} '
                   f'{r["ratio"]:>6.3f}')
    return '\n'.join(out)


# Each series' look, the same in every panel: told apart by line style
# and marker as well as colour (Okabe-Ito colours, safe for colour-blind
# readers), so the plot reads in print too. (key, label, colour, width,
# dash, marker)
SERIES = (
    ('single_ms', 'single-pass', '#d55e00', 1.5, '', 'square'),
    ('two_ms', 'two-pass', '#0072b2', 2.5, '', 'circle'),
    ('ideal_single_ms', 'ideal single-pass', '#d55e00', 1, '6,4', ''),
    ('ideal_two_ms', 'ideal two-pass', '#0072b2', 1, '2,3', ''),
    ('floor_ms', 'floor (same boot)', '#000000', 1, '8,3,2,3', ''),
)


def _marker(kind: str, x: float, y: float, color: str) -> str:
    if kind == 'circle':
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>'
    if kind == 'square':
        return (f'<rect x="{x - 3:.1f}" y="{y - 3:.1f}" width="6" height="6" fill="white" '
                f'stroke="{color}"/>')
    return ''


def _legend(x: float, y: float) -> list[str]:
    parts = []
    for key, label, color, width, dash, marker in SERIES:
        parts.append(f'<line x1="{x}" y1="{y}" x2="{x + 28}" y2="{y}" stroke="{color}" '
                     f'stroke-width="{width}" stroke-dasharray="{dash or "none"}"/>')
        parts.append(_marker(marker, x + 14, y, color))
        parts.append(f'<text x="{x + 34}" y="{y + 4}">{label}</text>')
        x += 48 + 7 * len(label)
    return parts


Panel = tuple[str, list[Row]]


def svg(panel_rows: list[list[Panel]], title: str) -> str:
    """Time vs N on log-log axes: a row of panels per family of scenarios
    (the fake GPU, xe, drm_gpusvm), a panel per scenario and latency (a
    label and its rows), every panel on the same axes, each with both
    modes, their ideals and, where measured, the floor."""
    grid = [[(name, sorted(rows, key=lambda r: r['n'])) for name, rows in panels if rows]
            for panels in panel_rows]
    grid = [panels for panels in grid if panels]
    rows = [r for panels in grid for _, rs in panels for r in rs]
    ns = sorted({r['n'] for r in rows})
    times = [r[key] for r in rows for key, *_ in SERIES if r.get(key)]
    if not ns or not times:
        return ''
    pw, ph, left, bottom, top, gap = 280, 200, 64, 40, 78, 48
    cols = max(len(panels) for panels in grid)
    nrows = len(grid)
    w = left + cols * (pw + gap)
    h = top + nrows * (ph + bottom + gap)
    x0, x1 = math.log10(min(ns)), math.log10(max(ns))
    y0, y1 = math.floor(math.log10(min(times))), math.ceil(math.log10(max(times)))
    if y1 == y0:
        y1 += 1

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'font-family="sans-serif" font-size="11">',
             f'<rect width="{w}" height="{h}" fill="white"/>',
             f'<text x="{w / 2}" y="18" text-anchor="middle" font-size="14">{title}</text>']
    parts += _legend(left, 40)
    for row, col, (name, sel) in ((row, col, panel) for row, panels in enumerate(grid)
                                  for col, panel in enumerate(panels)):
        ox = left + col * (pw + gap)
        oy = top + row * (ph + bottom + gap)

        def px(n: float) -> float:
            return ox + (math.log10(n) - x0) / ((x1 - x0) or 1) * pw

        def py(t: float) -> float:
            return oy + ph - (math.log10(t) - y0) / (y1 - y0) * ph

        parts.append(f'<rect x="{ox}" y="{oy}" width="{pw}" height="{ph}" fill="none" '
                     'stroke="#999"/>')
        parts.append(f'<text x="{ox + pw / 2}" y="{oy - 6}" text-anchor="middle" '
                     f'font-weight="bold">{name}</text>')
        for n in ns:
            parts.append(f'<line x1="{px(n):.1f}" y1="{oy}" x2="{px(n):.1f}" '
                         f'y2="{oy + ph}" stroke="#eee"/>')
            parts.append(f'<text x="{px(n):.1f}" y="{oy + ph + 14}" '
                         f'text-anchor="middle">{n}</text>')
        for e in range(y0, y1 + 1):
            parts.append(f'<line x1="{ox}" y1="{py(10 ** e):.1f}" x2="{ox + pw}" '
                         f'y2="{py(10 ** e):.1f}" stroke="#eee"/>')
            parts.append(f'<text x="{ox - 4}" y="{py(10 ** e) + 4:.1f}" '
                         f'text-anchor="end">{10 ** e:g}</text>')
        parts.append(f'<text x="{ox + pw / 2}" y="{oy + ph + 30}" text-anchor="middle">'
                     'devices (N)</text>')
        if col == 0:
            parts.append(f'<text x="{ox - 44}" y="{oy + ph / 2}" text-anchor="middle" '
                         f'transform="rotate(-90 {ox - 44} {oy + ph / 2})">munmap (ms)</text>')
        for key, _, color, width, dash, marker in SERIES:
            pts = [(r['n'], r[key]) for r in sel if r.get(key)]
            if not pts:
                continue
            d = ' '.join(f'{px(n):.1f},{py(t):.1f}' for n, t in pts)
            parts.append(f'<polyline points="{d}" fill="none" stroke="{color}" '
                         f'stroke-width="{width}" stroke-dasharray="{dash or "none"}"/>')
            parts += [_marker(marker, px(n), py(t), color) for n, t in pts if marker]
    parts.append('</svg>')
    return '\n'.join(p for p in parts if p) + '\n'


def machine() -> dict[str, Any]:
    model = ''
    try:
        with open('/proc/cpuinfo') as f:
            model = next((ln.split(':', 1)[1].strip() for ln in f
                          if ln.startswith('model name')), '')
    except OSError:
        pass
    return {'cpu': model, 'cpus': os.cpu_count(), 'arch': platform.machine(),
            'host_kernel': platform.release()}


SCENARIOS = (
    ('tlb', 'Scenario 1, TLB-bound (fault mode, no jobs): ideal L'),
    ('preempt', 'Scenario 2, preempt-bound (non-fault VMs, a long-running job each behind '
                'a preempt fence that signals J us after the notifier enables signalling; '
                'no TLB work): ideal J'),
    ('bind', 'Scenario 3, bind-bound (fault mode, a job of J us running on each VM: xe\'s '
             '"fences pending" flow): ideal J + L'),
    ('bind-overlap', 'Scenario 3b, bind-bound with the overlapped flow (each device submits '
                     'its TLB invalidation when its job ends; single-pass: scenario 3\'s): '
                     'ideal J + L'),
    ('xe-tlb', 'xe, TLB-bound: xe\'s own userptr notifier (xe_userptr.c) on N VMs of xe\'s '
               'fake device, fault mode, fences idle; two-pass as it ships against xe\'s '
               'synchronous path (single-pass): ideal L'),
    ('xe-preempt', 'xe, preempt-bound: non-fault VMs, a preempt fence each that signals '
                   'J us after signalling is enabled: ideal J'),
    ('xe-bind', 'xe, bind-bound: fault mode, a bind of J us running on each VM (fences '
                'pending): ideal J + L; as shipped the finishes flush one VM after '
                'another (J + N x L), RFC 0002 (upstream-rfc) overlaps them'),
    ('gpusvm', 'drm_gpusvm: N clients of drm_gpusvm (kunit/drm_gpusvm_client.c) mirror the '
               'range, single pass as shipped against the two passes of RFC 0003 '
               '(upstream-rfc only): ideal L'),
)


def write(console: str, summary: Summary) -> dict[str, Any]:
    points = parse(console)
    rdir = os.path.join(results_dir(), summary.profile)
    if not points:
        raise RigError('the benchmark printed no BENCH lines: see '
                       f'{os.path.relpath(rdir, REPO)}/console.log')
    data: dict[str, Any] = {'base': summary.base, 'package': summary.package,
            'package_version': summary.package_version,
            'checkout': summary.checkout, 'commit': summary.commit,
            'kernel_version': summary.kernel_version, 'profile': 'bench (fast + bench)',
            'machine': machine(), 'points': points,
            **{name: scaling_rows(points, name) for name, _ in SCENARIOS},
            'floor': [p for p in points if p['scenario'] == 'floor'],
            'jobs_floor': [p for p in points if p['scenario'] == 'jobs'],
            'core': core_rows(points), 'noise': noise(points)}
    with open(os.path.join(rdir, 'bench.json'), 'w') as f:
        json.dump(data, f, indent=1)
    grid = [[(f'{family}{name.removeprefix("xe-")}' + (f' L={lat} us' if lat else ''),
              [r for r in data[name] if r['latency_us'] == lat])
             for name in names for lat in sorted({r['latency_us'] for r in data[name]})]
            for family, names in (('fake GPU: ', ('tlb', 'preempt', 'bind', 'bind-overlap')),
                                  ('xe: ', ('xe-tlb', 'xe-preempt', 'xe-bind')),
                                  ('', ('gpusvm',)))]
    with open(os.path.join(rdir, 'bench.svg'), 'w') as f:
        f.write(svg(grid, 'munmap of a range mirrored by N devices: single- vs two-pass'))
    return data


def report(data: dict[str, Any]) -> str:
    m = data['machine']
    base = f'base {data["base"]} ({data.get("package")} {data.get("package_version")}), ' \
        if data.get('base') else ''
    lines = [f'{base}kernel {data["kernel_version"]} under UML, host {m["arch"]} {m["cpu"]} '
             f'({m["cpus"]} CPUs), medians of the repetitions; floor: N hrtimers of the '
             'latency alone, same boot']
    lines += [format_scaling(data[name], title) for name, title in SCENARIOS if data.get(name)]
    lines.append(format_core(data['core']))
    if data['noise']:
        nz = data['noise']
        lines.append(f'Run-to-run noise, two-pass N={nz["n"]} L={nz["latency_us"]} us, two '
                     f'back-to-back runs: {nz["median_ms"][0]:.3f} ms vs '
                     f'{nz["median_ms"][1]:.3f} ms, spread {nz["spread"] * 100:.1f} %')
    return '\n\n'.join(lines)
