"""The benchmark's parser and report over a recorded run (logs/bench.log)."""

import os
import unittest

from riglib import bench
from riglib.util import RigError

LOG = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'logs', 'bench.log')


class Bench(unittest.TestCase):
    def setUp(self):
        with open(LOG) as f:
            self.points = bench.parse(f.read())

    def test_every_point_is_parsed(self):
        # tlb: 2 latencies x 2 modes x 7 N; job: 2 x 7; core: 2 x 3; noise: 2
        self.assertEqual(len(self.points), 28 + 14 + 6 + 2)
        self.assertTrue(all(p['min_ns'] <= p['median_ns'] <= p['max_ns']
                            for p in self.points))

    def test_rows_pair_single_and_two_pass(self):
        rows = bench.scaling_rows(self.points, 'tlb')
        self.assertEqual(len(rows), 14)
        row = next(r for r in rows if r['n'] == 64 and r['latency_us'] == 1000)
        self.assertAlmostEqual(row['speedup'], row['single_ms'] / row['two_ms'])
        self.assertAlmostEqual(row['two_over_ideal'], row['two_ms'] / 1.0)
        self.assertAlmostEqual(row['single_over_ideal'], row['single_ms'] / 64.0)

    def test_job_rows_use_job_plus_latency(self):
        row = next(r for r in bench.scaling_rows(self.points, 'job') if r['n'] == 8)
        self.assertAlmostEqual(row['ideal_two_ms'], 2.0)
        self.assertAlmostEqual(row['single_over_ideal'], row['single_ms'] / 16.0)

    def test_core_and_noise(self):
        self.assertEqual([r['notifiers'] for r in bench.core_rows(self.points)], [1, 100, 1000])
        self.assertIsNotNone(bench.noise(self.points))

    def test_svg_has_a_line_per_series(self):
        svg = bench.svg(bench.scaling_rows(self.points, 'tlb'), 't')
        self.assertTrue(svg.startswith('<svg'))
        self.assertEqual(svg.count('<polyline'), 8)   # 2 latencies x 4 series

    def test_malformed_line_is_an_error(self):
        with self.assertRaisesRegex(RigError, 'malformed BENCH line'):
            bench.parse('    # fgb: BENCH scenario=tlb mode=two-pass n=x\n')

    def test_no_points_is_an_error(self):
        with self.assertRaisesRegex(RigError, 'no BENCH lines'):
            bench.write('KTAP version 1\n', {'kernel_version': '6.12'})


if __name__ == '__main__':
    unittest.main()
