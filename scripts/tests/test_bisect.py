"""bisect-build's diagnostics comparison and report, without a kernel build."""

import collections
import os
import tempfile
import unittest

from riglib import bisect

FILES = ['drivers/gpu/drm/xe/xe_vm.c', 'drivers/gpu/drm/xe/xe_vm_types.h']

BASE_OUT = """\
  CC      drivers/gpu/drm/xe/xe_vm.o
/tree/drivers/gpu/drm/xe/xe_vm.c:100:5: warning: no previous prototype for 'a' [-Wmissing-prototypes]
/tree/include/linux/mm.h:7:1: warning: in a header the series does not touch
  CHECK   /tree/drivers/gpu/drm/xe/xe_vm.c
../drivers/gpu/drm/xe/xe_vm.c:200:9: warning: context imbalance in 'b' - wrong count at exit
"""

# The same two diagnostics moved by a patch, plus one new of each kind.
STEP_OUT = """\
/tree/drivers/gpu/drm/xe/xe_vm.c:140:5: warning: no previous prototype for 'a' [-Wmissing-prototypes]
../drivers/gpu/drm/xe/xe_vm.c:260:9: warning: context imbalance in 'b' - wrong count at exit
/tree/drivers/gpu/drm/xe/xe_vm_types.h:80:2: warning: 'x' defined but not used [-Wunused-variable]
drivers/gpu/drm/xe/xe_vm.c:300:1: error: expected ';' before '}' token
/tree/drivers/gpu/drm/xe/xe_vm.c.orig:1:1: warning: a file with a similar name
"""


class Diagnostics(unittest.TestCase):
    def test_only_touched_files_count(self):
        d = bisect.parse_diagnostics(BASE_OUT, FILES)
        self.assertEqual(sum(d.values()), 2)
        self.assertTrue(all(f == FILES[0] for (f, _, _) in d))

    def test_moved_lines_are_not_new(self):
        base = bisect.parse_diagnostics(BASE_OUT, FILES)
        step = bisect.parse_diagnostics(STEP_OUT, FILES)
        new = bisect.new_diagnostics(base, step)
        self.assertEqual(sorted((f, k) for (f, k, _) in new.elements()),
                         [(FILES[0], 'error'), (FILES[1], 'warning')])

    def test_a_repeated_diagnostic_counts_each_time(self):
        base = bisect.parse_diagnostics(BASE_OUT, FILES)
        step = bisect.parse_diagnostics(BASE_OUT + BASE_OUT.splitlines()[1], FILES)
        self.assertEqual(sum(bisect.new_diagnostics(base, step).values()), 1)

    def test_removed_diagnostics_are_not_negative(self):
        base = bisect.parse_diagnostics(BASE_OUT, FILES)
        self.assertEqual(bisect.new_diagnostics(base, collections.Counter()),
                         collections.Counter())


class Series(unittest.TestCase):
    def test_touched_files_come_from_the_diffs(self):
        with tempfile.TemporaryDirectory() as tmp:
            p = os.path.join(tmp, '0001-x.patch')
            with open(p, 'w') as f:
                f.write('Subject: x\n---\n--- a/mm/mmu_notifier.c\n+++ b/mm/mmu_notifier.c\n'
                        '@@ -1 +1 @@\n-a\n+b\n--- a/a/b.h\n+++ b/a/b.h\n@@ -1 +1,2 @@\n'
                        ' +++ b/not/a/header\n+c\n')
            self.assertEqual(bisect.touched_files([p]), ['a/b.h', 'mm/mmu_notifier.c'])


def _out(broken=None, new_w1=0, gate_fail=False):
    steps = []
    for i, name in enumerate(['base', '0001-a.patch', '0002-b.patch']):
        ok = name != broken
        steps.append({'step': name, 'build_ok': ok, 'build_seconds': 10.0 * (i + 1),
                      'errors': [] if ok else ['x.c:1:1: error: boom'],
                      'w1': {'total': 3, 'new': new_w1 if i == 2 else 0,
                             'new_list': ['x.c: warning: w'] if new_w1 and i == 2 else []},
                      'sparse': {'total': 1, 'new': 0, 'new_list': []},
                      'tests': {'passed': 5, 'failed': int(gate_fail and i == 1),
                                'skipped': 2},
                      'gate_failures': ['test failed: s.t'] if gate_fail and i == 1 else []})
        if not ok:
            break
    return {'steps': steps, 'checks': True, 'first_broken': broken}


class Verdict(unittest.TestCase):
    def test_clean_series_passes(self):
        self.assertTrue(bisect.passed(_out()))

    def test_broken_step_is_named_and_fails(self):
        out = _out(broken='0001-a.patch')
        self.assertFalse(bisect.passed(out))
        text = bisect.report(out)
        self.assertIn('0001-a.patch', text)
        self.assertIn('BROKEN', text)
        self.assertIn('error: boom', text)
        self.assertNotIn('0002-b.patch', text)

    def test_failed_tests_fail_the_step(self):
        out = _out(gate_fail=True)
        self.assertFalse(bisect.passed(out))
        text = bisect.report(out)
        self.assertIn('5/1/2', text)
        self.assertIn('gate: test failed: s.t', text)

    def test_new_warning_fails_and_is_listed(self):
        out = _out(new_w1=1)
        self.assertFalse(bisect.passed(out))
        self.assertIn('new: x.c: warning: w', bisect.report(out))


if __name__ == '__main__':
    unittest.main()
