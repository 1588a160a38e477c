"""mutants/: the header of a mutant, where it applies and what counts as caught."""

import os
import shutil
import subprocess
import tempfile
import unittest

from riglib import bases, gate, kunitrun, mutants, profiles, tree
from riglib.gate import Failure
from riglib.summary import Summary
from riglib.util import REPO, RigError, all_caught

XE = '''Mutant: something in xe
Suites: xe_userptr_two_pass
Profile: xe
Caught-by: xe_userptr_two_pass.xe_userptr_concurrent tp_test_finish_order
---
--- a/drivers/gpu/drm/xe/xe_userptr.c
+++ b/drivers/gpu/drm/xe/xe_userptr.c
@@ -1 +1 @@
-a
+b
'''


class Mutants(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='rig-mutants-')

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, text, name='xe/m.patch'):
        path = os.path.join(self.tmp, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(text)
        return path

    def test_header(self):
        m = mutants.parse(self.write(XE))
        self.assertEqual(m.name, 'xe/m')
        self.assertEqual(m.target, 'xe')
        self.assertEqual(m.profile, 'xe')
        self.assertEqual(m.suites, 'xe_userptr_two_pass')
        self.assertEqual(m.caught, ['xe_userptr_two_pass.xe_userptr_concurrent',
                                    'mmu_interval_two_pass.tp_test_finish_order'])
        self.assertEqual(m.files, ['drivers/gpu/drm/xe/xe_userptr.c'])

    def test_defaults_and_missing_header(self):
        m = mutants.parse(self.write(XE.replace('Profile: xe\n', '')
                                     .replace('Suites: xe_userptr_two_pass\n', '')))
        self.assertIsNone(m.profile)
        self.assertEqual(m.suites, mutants.SUITE)
        with self.assertRaisesRegex(RigError, 'needs "Mutant:" and "Caught-by:"'):
            mutants.parse(self.write(XE.replace('Caught-by:', 'Caught:')))

    def test_the_verdict_names_what_was_not_caught(self):
        self.assertEqual(all_caught([('a', True), ('b', True)], 'caught', 'missed'), 0)
        self.assertEqual(all_caught([('a', True), ('b', False)], 'caught', 'missed'), 1)

    def test_a_failed_parameter_fails_its_case(self):
        summary = Summary('m', '7.3', splats=[{'test': 't.c.non-fault'}], failures=[
            Failure(gate.TEST, 'test failed: s.case.fault,tlb-deferred+idle',
                    's.case.fault,tlb-deferred+idle'),
            Failure(gate.TEST, 'test failed: s.other', 's.other')])
        failed = mutants._failed_tests(summary)
        self.assertIn('s.case', failed)
        self.assertIn('s.case.fault,tlb-deferred+idle', failed)
        self.assertIn('s.other', failed)
        self.assertIn('t.c', failed)
        self.assertNotIn('s', failed)

    def test_a_crash_counts_against_the_running_test_only(self):
        summary = Summary('m', '7.3', crashed_in='s.b', failures=[
            Failure(gate.CRASH, 'kernel crashed or went silent: 1 of 3 suites reported; '
                    'last test result: s.a')])
        failed = mutants._failed_tests(summary)
        self.assertIn('s.b', failed)
        self.assertNotIn('s.a', failed)
        self.assertNotIn('s.c', failed)
        # Nobody known was running: the crash catches no listed case.
        summary.crashed_in = None
        failed = mutants._failed_tests(summary)
        self.assertEqual(failed, {'(crash or timeout in no known test)'})

    def test_the_crashed_kunit_case_is_the_first_unreported_one(self):
        listed = ['s.a', 's.b', 's.c']
        orig = kunitrun.list_tests
        kunitrun.list_tests = lambda tree, bdir, glob, profile=None: [
            c for c in listed + ['t.x'] if glob in ('s.*', c)]
        try:
            self.assertEqual(kunitrun.crashed_case('t', 'b', 's', ['s.a', 'x.y']), 's.b')
            self.assertEqual(kunitrun.crashed_case('t', 'b', 's', ['s.a.p1', 's.b']), 's.c')
            self.assertIsNone(kunitrun.crashed_case('t', 'b', 's', listed))
            # A filtered run: only what the filter ran counts.
            self.assertEqual(kunitrun.crashed_case('t', 'b', 's', [], 's.c'), 's.c')
            summary = Summary('m', '7.3', crashed_in='s' + gate.UNREPORTED, results=['s.a'],
                              splats=[{'test': 's' + gate.UNREPORTED}])
            self.assertTrue(kunitrun.name_crashed_case('t', 'b', summary))
            self.assertEqual(summary.crashed_in, 's.b')
            self.assertEqual(summary.splats[0]['test'], 's.b')
            # An open parameterized case: no list needed.
            kunitrun.list_tests = None
            summary = Summary('m', '7.3', crashed_in='s.c' + gate.UNREPORTED)
            self.assertTrue(kunitrun.name_crashed_case('t', 'b', summary))
            self.assertEqual(summary.crashed_in, 's.c')
            self.assertFalse(kunitrun.name_crashed_case('t', 'b', Summary('m', '7.3')))
        finally:
            kunitrun.list_tests = orig

    def test_every_repo_mutant_names_a_known_profile(self):
        known = profiles.load()
        for path in mutants.all_paths():
            m = mutants.parse(path)
            if m.profile:
                self.assertIn(m.profile, known, path)
            if m.suites == mutants.USERSPACE:
                self.assertTrue(m.profile and known[m.profile].userspace,
                                f'{m.name}: a userspace mutant needs a Profile: that '
                                'boots into userspace')

    def test_every_mutant_of_the_rig_sources_applies(self):
        """A mutant of fake-gpu/ that no longer applies would stop "rig
        mutants" an hour into "rig test"; the checkout is at hand here."""
        for path in mutants.all_paths():
            m = mutants.parse(path)
            if mutants.TARGETS[m.target] != tree.RIG_SUBDIR:
                continue
            res = subprocess.run(['git', '-C', REPO, 'apply', '--check', path],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(res.returncode, 0, f'{m.name}: {res.stdout}')

    def test_names_come_from_the_folders(self):
        names = [mutants.name_of(p) for p in mutants.all_paths()]
        self.assertIn('fake-gpu/bind-no-read-retry', names)
        self.assertIn('core/finish-order-reversed', names)
        self.assertEqual(mutants.result_name('fake-gpu/bind-no-read-retry'),
                         'mutant-fake-gpu-bind-no-read-retry')
        # Every base's globs name at least one mutant, and every mutant
        # runs on some base.
        known = bases.load()
        for b in known.values():
            if b.mutants:
                self.assertTrue(mutants.select(b), b.name)
            if b.slow_mutants:
                self.assertTrue(mutants.select(b, slow=True), b.name)
        for name in names:
            self.assertTrue(any(b.runs_mutant(name) or b.runs_mutant(name, slow=True)
                                for b in known.values()), name)

    def test_a_mutant_outside_a_target_folder_is_an_error(self):
        saved = mutants.MUTANT_DIR
        mutants.MUTANT_DIR = self.tmp
        try:
            self.write(XE, 'core/a.patch')
            self.assertEqual([mutants.name_of(p) for p in mutants.all_paths()], ['core/a'])
            self.write(XE, 'b.patch')
            with self.assertRaisesRegex(RigError, 'b.patch: not in a target folder'):
                mutants.all_paths()
            os.unlink(os.path.join(self.tmp, 'b.patch'))
            self.write(XE, 'nosuch/c.patch')
            with self.assertRaisesRegex(RigError, 'nosuch/c.patch: not in a target folder'):
                mutants.all_paths()
        finally:
            mutants.MUTANT_DIR = saved

    def test_unknown_mutant_names_the_known_ones(self):
        with self.assertRaisesRegex(RigError, 'unknown mutant core/nosuch; known: .*'
                                    'core/finish-order-reversed'):
            mutants.select(bases.select('upstream'), ['core/nosuch'])

if __name__ == '__main__':
    unittest.main()
