"""The benchmark's parser and report over a recorded run (logs/bench.log)."""

import os
import tempfile
import unittest

from riglib import bench, bench_icount, bench_pristine
from riglib.summary import Summary
from riglib.util import RigError

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'logs', 'bench.log')


class Bench(unittest.TestCase):
    def setUp(self):
        with open(LOG) as f:
            self.points = bench.parse(f.read())

    def test_every_point_is_parsed(self):
        # floor: 2 latencies x 7 N; tlb: 2 latencies x 2 modes x 7 N;
        # preempt, bind: 2 modes x 7 N each; bind-overlap, jobs: 7 N each;
        # core: 2 modes x 4 K; noise: 2
        self.assertEqual(len(self.points), 14 + 28 + 14 + 14 + 7 + 7 + 8 + 2)
        self.assertTrue(all(p['min_ns'] <= p['median_ns'] <= p['max_ns']
                            for p in self.points))

    def test_rows_pair_single_and_two_pass(self):
        rows = bench.scaling_rows(self.points, 'tlb')
        self.assertEqual(len(rows), 14)
        row = next(r for r in rows if r['n'] == 64 and r['latency_us'] == 1000)
        self.assertAlmostEqual(row['speedup'], row['single_ms'] / row['two_ms'])
        self.assertAlmostEqual(row['two_over_ideal'], row['two_ms'] / 1.0)
        self.assertAlmostEqual(row['single_over_ideal'], row['single_ms'] / 64.0)

    def test_each_scenario_has_its_ideals(self):
        bind = next(r for r in bench.scaling_rows(self.points, 'bind') if r['n'] == 8)
        self.assertAlmostEqual(bind['ideal_two_ms'], 2.0)      # J + L
        self.assertAlmostEqual(bind['ideal_single_ms'], 9.0)   # J + N x L
        self.assertAlmostEqual(bind['single_over_ideal'], bind['single_ms'] / 9.0)
        preempt = next(r for r in bench.scaling_rows(self.points, 'preempt') if r['n'] == 8)
        self.assertAlmostEqual(preempt['ideal_two_ms'], 1.0)   # J
        self.assertAlmostEqual(preempt['ideal_single_ms'], 8.0)

    def test_floor_is_from_the_same_boot(self):
        floor = next(p for p in self.points if p['scenario'] == 'floor' and p['n'] == 64 and
                     p['latency_us'] == 100)
        row = next(r for r in bench.scaling_rows(self.points, 'tlb') if r['n'] == 64 and
                   r['latency_us'] == 100)
        self.assertAlmostEqual(row['floor_ms'], floor['median_ns'] / 1e6)
        self.assertAlmostEqual(row['two_over_floor'], row['two_ms'] / row['floor_ms'])
        # Bind-bound: the N emulated jobs ending, then one timer of L = 1 ms.
        jobs = next(p for p in self.points if p['scenario'] == 'jobs' and p['n'] == 64)
        one = next(p for p in self.points if p['scenario'] == 'floor' and p['n'] == 1 and
                   p['latency_us'] == 1000)
        for scenario in ('bind', 'bind-overlap'):
            row = next(r for r in bench.scaling_rows(self.points, scenario) if r['n'] == 64)
            self.assertAlmostEqual(row['floor_ms'],
                                   (jobs['median_ns'] + one['median_ns']) / 1e6)
        # Without jobs points (an older log): J, then the N timers.
        floor = next(p for p in self.points if p['scenario'] == 'floor' and p['n'] == 64 and
                     p['latency_us'] == 1000)
        old = [p for p in self.points if p['scenario'] != 'jobs']
        bind = next(r for r in bench.scaling_rows(old, 'bind') if r['n'] == 64)
        self.assertAlmostEqual(bind['floor_ms'], (floor['median_ns'] + 1e6) / 1e6)

    def test_gpusvm_scenario_is_tlb_bound_with_the_same_floor(self):
        line = ('# gsb_test_munmap: BENCH scenario=gpusvm mode={} n=64 latency_us=1000 '
                'job_us=0 reps=20 min_ns={} median_ns={} max_ns={}')
        points = self.points + bench.parse('\n'.join([
            line.format('single-pass', 64_000_000, 65_000_000, 66_000_000),
            line.format('two-pass', 1_000_000, 1_100_000, 1_200_000)]))
        rows = bench.scaling_rows(points, 'gpusvm')
        self.assertEqual(len(rows), 1)
        floor = next(p for p in points if p['scenario'] == 'floor' and p['n'] == 64 and
                     p['latency_us'] == 1000)
        self.assertAlmostEqual(rows[0]['ideal_two_ms'], 1.0)
        self.assertAlmostEqual(rows[0]['ideal_single_ms'], 64.0)
        self.assertAlmostEqual(rows[0]['floor_ms'], floor['median_ns'] / 1e6)
        self.assertAlmostEqual(rows[0]['speedup'], 65.0 / 1.1)
        # Single-pass only (the upstream base): no row.
        self.assertEqual(bench.scaling_rows(points[:-1], 'gpusvm'), [])

    def test_xe_scenarios_have_the_fake_gpus_ideals_and_floors(self):
        line = ('# xe_userptr_bench_munmap: BENCH scenario={} mode={} n=8 latency_us={} '
                'job_us={} reps=20 min_ns=1 median_ns={} max_ns=99000000')
        points = self.points + bench.parse('\n'.join([
            line.format('xe-preempt', 'single-pass', 0, 1000, 8_100_000),
            line.format('xe-preempt', 'two-pass', 0, 1000, 1_100_000),
            line.format('xe-bind', 'single-pass', 1000, 1000, 9_200_000),
            line.format('xe-bind', 'two-pass', 1000, 1000, 9_100_000)]))
        floor = {(p['n'], p['latency_us']): p['median_ns'] for p in points
                 if p['scenario'] == 'floor'}
        preempt = bench.scaling_rows(points, 'xe-preempt')[0]
        self.assertAlmostEqual(preempt['ideal_two_ms'], 1.0)       # J
        self.assertAlmostEqual(preempt['ideal_single_ms'], 8.0)    # N x J
        self.assertAlmostEqual(preempt['floor_ms'], floor[8, 1000] / 1e6)
        bind = bench.scaling_rows(points, 'xe-bind')[0]
        self.assertAlmostEqual(bind['ideal_two_ms'], 2.0)          # J + L
        self.assertAlmostEqual(bind['ideal_single_ms'], 9.0)       # J + N x L
        # The N binds' timers of J, then one TLB invalidation of L.
        self.assertAlmostEqual(bind['floor_ms'], (floor[8, 1000] + floor[1, 1000]) / 1e6)

    def test_overlap_compares_with_single_pass_of_bind(self):
        rows = bench.scaling_rows(self.points, 'bind-overlap')
        self.assertEqual([r['n'] for r in rows], [1, 2, 4, 8, 16, 32, 64])
        single = {p['n']: p['median_ns'] for p in self.points
                  if p['scenario'] == 'bind' and p['mode'] == 'single-pass'}
        for r in rows:
            self.assertAlmostEqual(r['single_ms'], single[r['n']] / 1e6)
            self.assertAlmostEqual(r['ideal_two_ms'], 2.0)

    def test_core_and_noise(self):
        self.assertEqual([r['notifiers'] for r in bench.core_rows(self.points)],
                         [0, 1, 100, 1000])
        self.assertIsNotNone(bench.noise(self.points))

    def test_svg_has_a_line_per_series(self):
        rows = bench.scaling_rows(self.points, 'tlb')
        groups = [(f'L={lat}', [r for r in rows if r['latency_us'] == lat]) for lat in (100, 1000)]
        svg = bench.svg([groups], "t")
        self.assertTrue(svg.startswith('<svg'))
        # 2 latencies x (2 modes, 2 ideals, the floor)
        self.assertEqual(svg.count('<polyline'), 10)

    def test_malformed_line_is_an_error(self):
        with self.assertRaisesRegex(RigError, 'malformed BENCH line'):
            bench.parse('    # fgb: BENCH scenario=tlb mode=two-pass n=x\n')

    def test_no_points_is_an_error(self):
        with self.assertRaisesRegex(RigError, 'no BENCH lines'):
            bench.write('KTAP version 1\n', Summary('bench', '6.12'))


def core_point(mode, k, median):
    return {'scenario': 'core', 'mode': mode, 'n': k, 'latency_us': 0, 'job_us': 0,
            'reps': 20, 'min_ns': median, 'median_ns': median, 'max_ns': median}


class Pristine(unittest.TestCase):
    """rig bench --pristine: boots compared per round and over rounds."""

    def rounds(self, pristine, series, k=100):
        return [{'pristine': [core_point('single-pass', k, p)],
                 'series': [core_point('single-pass', k, s)]}
                for p, s in zip(pristine, series)]

    def test_ratio_is_of_the_medians_over_boots(self):
        row, = bench_pristine.compare(self.rounds([1000, 1010, 990, 1000, 1005],
                                                  [1005, 1012, 1000, 1004, 1300]))
        self.assertAlmostEqual(row['ratio'], 1005 / 1000)
        self.assertEqual(row['boot_medians_ns']['series'], [1005, 1012, 1000, 1004, 1300])
        self.assertAlmostEqual(row['best_ratio'], 1000 / 990)
        # One slow boot does not make the ratio unresolved...
        self.assertEqual(row['verdict'], 'met')
        # ... two of five that disagree by more than the margin do.
        row, = bench_pristine.compare(self.rounds([1000, 1010, 990, 1000, 1005],
                                                  [1005, 1080, 1000, 1004, 1300]))
        self.assertEqual(row['verdict'], 'unresolved')

    def test_verdicts(self):
        met, = bench_pristine.compare(self.rounds([1000] * 5, [1010, 1015, 1005, 1010, 1010]))
        self.assertEqual(met['verdict'], 'met')
        missed, = bench_pristine.compare(self.rounds([1000] * 5, [1050, 1040, 1045, 1050, 1050]))
        self.assertEqual(missed['verdict'], 'missed')
        self.assertAlmostEqual(missed['spread']['series'], 10 / 1050)

    def test_a_boot_without_the_point_is_an_error(self):
        rounds = self.rounds([1000, 1000], [1000, 1000])
        rounds[1]['series'] = []
        with self.assertRaisesRegex(RigError, 'no core point for K = 100'):
            bench_pristine.compare(rounds)

    def test_configs_must_match(self):
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, 'a'), os.path.join(tmp, 'b')
            with open(a, 'w') as f:
                f.write('# Linux/um 6.12.117 Kernel Configuration\nCONFIG_A=y\nCONFIG_B=y\n')
            with open(b, 'w') as f:
                f.write('# Linux/um 6.12.117 Kernel Configuration\nCONFIG_A=y\n'
                        '# CONFIG_B is not set\n')
            self.assertEqual(bench_pristine.config_difference(a, a), [])
            self.assertEqual(bench_pristine.config_difference(a, b),
                             ['- CONFIG_B=y', '+ # CONFIG_B is not set'])


class Icount(unittest.TestCase):
    """rig bench --icount: three kernels, each against the core before the series."""

    def rounds(self, pre, shipped, rfc, k=1000):
        return [{'pre-series': [core_point('single-pass', k, p)],
                 'shipped': [core_point('single-pass', k, s)],
                 'rfc-0001': [core_point('single-pass', k, r)]}
                for p, s, r in zip(pre, shipped, rfc)]

    def test_ratios_are_of_the_medians_over_boots(self):
        row, = bench_icount.compare(self.rounds([100000, 100010, 100000],
                                                [120000, 120000, 120100],
                                                [100500, 100500, 100500]))
        self.assertAlmostEqual(row['ratio']['shipped'], 1.2)
        self.assertAlmostEqual(row['ratio']['rfc-0001'], 1.005)
        self.assertAlmostEqual(row['spread']['pre-series'], 10 / 100000)
        self.assertEqual(row['rfc_verdict'], 'met')
        self.assertTrue(all(row['resolved'].values()))

    def test_a_spread_over_the_goal_leaves_a_ratio_unresolved(self):
        row, = bench_icount.compare(self.rounds([100000, 100000, 100000],
                                                [120000, 120000, 120000],
                                                [100500, 100800, 100500]))
        self.assertEqual(row['rfc_verdict'], 'unresolved')
        self.assertTrue(row['resolved']['shipped'])
        self.assertFalse(row['resolved']['rfc-0001'])

    def test_rfc_over_target_is_missed(self):
        row, = bench_icount.compare(self.rounds([100000] * 5, [120000] * 5, [101500] * 5))
        self.assertEqual(row['rfc_verdict'], 'missed')

    def test_a_kernel_without_the_point_is_an_error(self):
        rounds = self.rounds([1, 1], [1, 1], [1, 1])
        rounds[1]['rfc-0001'] = []
        with self.assertRaisesRegex(RigError, 'rfc-0001 kernel printed no core point'):
            bench_icount.compare(rounds)

    def test_a_recorded_boot(self):
        # logs/icount.log: a boot of the pre-series kernel by "rig bench --icount".
        with open(os.path.join(os.path.dirname(LOG), 'icount.log')) as f:
            console = f.read()
        points = bench.parse(console)
        self.assertEqual([p['n'] for p in points], [0, 1, 100, 1000, 10000])
        self.assertEqual({p['scenario'] for p in points}, {'core'})
        self.assertEqual(points[3]['median_ns'], 117338)
        # Calibrated early (tsc_early_khz), refined later: 1 ns, one instruction.
        self.assertEqual(bench_icount.tsc_mhz(console), [1000.0, 1000.0])

    def test_the_guest_tsc_frequency(self):
        self.assertEqual(bench_icount.tsc_mhz(
            '[    0.000000] tsc: Fast TSC calibration using PIT\n'
            '[    0.000000] tsc: Detected 999.982 MHz processor\n'
            '[    1.020000] tsc: Refined TSC clocksource calibration: 1000.000 MHz\n'),
            [999.982, 1000.0])
        # With tsc_early_khz=: the processor's rate is not the TSC's.
        self.assertEqual(bench_icount.tsc_mhz(
            'tsc: Detected 999.984 MHz processor\n'
            'tsc: Detected 1000.000 MHz TSC\n'
            'tsc: Refined TSC clocksource calibration: 1000.000 MHz\n'), [1000.0, 1000.0])
        self.assertEqual(bench_icount.tsc_mhz('no such line'), [])


if __name__ == '__main__':
    unittest.main()
