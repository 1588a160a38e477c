"""Coverage arithmetic: which lines 0001 adds, and the lcov tracefile."""

import os
import tempfile
import types
import unittest
from typing import cast

from riglib import coverage, tree
from riglib.util import RigError
from tests.gitpatch import make_patch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PATCH = os.path.join(REPO, 'kernel-patches',
                     '0001-mm-mmu_notifier-Allow-two-pass-struct-mmu_interval_n.patch')

TRACE = """SF:/t/mm/mmu_notifier.c
DA:10,1
DA:11,0
DA:12,3
BRDA:10,0,0,1
BRDA:10,0,1,-
BRDA:40,0,0,0
end_of_record
SF:/t/lib/two-pass-rig/fake-gpu/fake_gpu_tlb.c
DA:1,1
DA:2,0
BRDA:1,0,0,2
BRDA:1,0,1,0
end_of_record
"""


def measure(trace):
    """coverage.measure() of the tracefile @trace, core lines 10 and 11."""
    with tempfile.NamedTemporaryFile('w', suffix='.info', delete=False) as f:
        f.write(trace)
    try:
        return coverage.measure(coverage.parse_info(f.name), {10, 11})
    finally:
        os.unlink(f.name)


class Coverage(unittest.TestCase):
    def test_added_lines_are_the_plus_lines_of_mmu_notifier_c(self):
        lines = coverage.added_lines(PATCH)
        with open(PATCH) as f:
            plus = 0
            in_core = False
            for text in f:
                if text.startswith('+++ '):
                    in_core = text.strip().endswith('mm/mmu_notifier.c')
                elif in_core and text.startswith('+'):
                    plus += 1
        self.assertEqual(len(lines), plus)
        self.assertGreater(plus, 50)

    def test_added_lines_with_blank_context_written_empty(self):
        """rig export writes blank context lines as empty lines."""
        old = 'int a;\n\nint b;\n\nint c;\n\nint d;\n'
        new = 'int a;\n\nint b;\nint new1;\n\nint c;\n\nint new2;\nint d;\n'
        with tempfile.TemporaryDirectory() as d:
            text = make_patch(d, 'cov', old, new, 'mm: blank', blank_empty=True)
            hunk = text.index('\n@@ ')
            self.assertIn('\n\n', text[hunk:])
            patch = os.path.join(d, 'p.patch')
            with open(patch, 'w') as f:
                f.write(text)
            self.assertEqual(coverage.added_lines(patch), {4, 8})
            with open(patch, 'w') as f:
                f.write(text[:hunk] + text[hunk:].replace('\n\n', '\n', 1))
            with self.assertRaisesRegex(RigError, 'hunk'):
                coverage.added_lines(patch)

    def test_measure_counts_only_added_core_lines(self):
        m = measure(TRACE)
        self.assertEqual((m['core_lines'], m['core_lines_total']), (50.0, 2))
        self.assertEqual(m['core_lines_missed'], [11])
        self.assertEqual((m['core_branches'], m['core_branches_total']), (50.0, 2))
        self.assertEqual((m['fake_gpu_lines'], m['fake_gpu_lines_total']), (50.0, 2))
        self.assertEqual(m['fake_gpu_branches'], 50.0)
        self.assertFalse(coverage.met(m))

    def test_gpusvm_reported_where_the_base_has_it(self):
        self.assertNotIn('gpusvm_lines', measure(TRACE))
        trace = TRACE + """SF:/t/drivers/gpu/drm/drm_gpusvm.c
FN:5,drm_gpusvm_init
FN:9,drm_gpusvm_migrate
FNDA:3,drm_gpusvm_init
FNDA:0,drm_gpusvm_migrate
DA:5,3
DA:6,3
DA:9,0
BRDA:6,0,0,3
BRDA:6,0,1,0
end_of_record
"""
        m = measure(trace)
        self.assertEqual((round(m['gpusvm_lines'], 1), m['gpusvm_lines_total']), (66.7, 3))
        self.assertEqual((m['gpusvm_branches'], m['gpusvm_branches_total']), (50.0, 2))
        self.assertEqual(m['gpusvm_functions_missed'], ['drm_gpusvm_migrate'])
        self.assertIn('1 of 2 functions never called: drm_gpusvm_migrate',
                      coverage.report(m))

    def test_series_gpusvm_lines_are_the_rfc_ones(self):
        def base(series):
            return cast(tree.Base, types.SimpleNamespace(series=os.path.join(REPO, series)))
        rfc = coverage.series_patch(base('kernel-patches/rfc/series'), coverage.GPUSVM_FILE)
        self.assertIsNotNone(rfc)
        self.assertIn('drm-gpusvm', os.path.basename(rfc or ''))
        # upstream's own patches (the fixes) do not touch drm_gpusvm.c.
        self.assertIsNone(coverage.series_patch(base('kernel-patches/upstream-fixes/series'),
                                                coverage.GPUSVM_FILE))
        data = {'lines': {5: 1, 6: 0, 7: 2}, 'branches': {}, 'functions': {}}
        m = coverage.measure_lines(data, {6, 7, 99}, 'series_gpusvm')
        self.assertEqual((round(m['series_gpusvm_lines'], 1), m['series_gpusvm_lines_total']),
                         (50.0, 2))
        self.assertEqual(m['series_gpusvm_lines_missed'], [6])
        # A target counts only where the base has the measure.
        full = measure(TRACE) | {'core_lines': 100.0, 'core_branches': 100.0,
                                 'fake_gpu_lines': 100.0}
        self.assertTrue(coverage.met(full))
        self.assertFalse(coverage.met(full | m))

    def test_fake_gpu_found_through_a_relative_build_path(self):
        # CCACHE_BASEDIR (the CI jobs): gcov records the staged copy's
        # path relative to the build directory.
        trace = TRACE.replace('/t/lib/two-pass-rig/fake-gpu/',
                              '../../trees/t/lib/two-pass-rig/fake-gpu/')
        m = measure(trace)
        self.assertEqual((m['fake_gpu_lines'], m['fake_gpu_lines_total']), (50.0, 2))
        self.assertFalse(coverage.is_fake_gpu(os.path.join(REPO, 'fake-gpu', 'a.c')))


if __name__ == '__main__':
    unittest.main()
