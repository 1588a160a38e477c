"""The hmm step's comparison of the base's and the series' hmm-tests."""

import unittest

from riglib import hmm, profiles


class Compare(unittest.TestCase):
    BASE = {'hmm.hmm_device_private.open_close': 'pass',
            'hmm.hmm_device_private.anon_read': 'pass',
            'hmm.hmm_device_coherent.open_close': 'skip',
            'hmm.hmm_device_private.anon_write_hugetlbfs': 'fail'}

    def test_the_same_results_pass(self):
        out = hmm.compare(self.BASE, dict(self.BASE))
        self.assertEqual(out['failures'], [])
        self.assertEqual(out['passed'], {'base': 2, 'series': 2})

    def test_a_lost_test_fails_with_its_name(self):
        for lost_as in ('fail', 'skip', None):
            with self.subTest(lost_as=lost_as):
                series = dict(self.BASE)
                if lost_as:
                    series['hmm.hmm_device_private.anon_read'] = lost_as
                else:
                    del series['hmm.hmm_device_private.anon_read']
                out = hmm.compare(self.BASE, series)
                self.assertEqual(out['lost'], ['hmm.hmm_device_private.anon_read'])
                self.assertIn('anon_read: passes on the base', out['failures'][0])
                self.assertIn(lost_as or 'missing', out['failures'][0])

    def test_a_test_skipped_on_the_base_may_not_fail_with_the_series(self):
        series = dict(self.BASE, **{'hmm.hmm_device_coherent.open_close': 'fail'})
        out = hmm.compare(self.BASE, series)
        self.assertEqual(out['lost'], ['hmm.hmm_device_coherent.open_close'])
        self.assertIn('skip on the base, fails with the series', out['failures'][0])

    def test_a_test_failing_on_both_is_no_regression_but_fewer_passes_are(self):
        series = dict(self.BASE, **{'hmm.hmm_device_private.anon_write_hugetlbfs': 'pass'})
        self.assertEqual(hmm.compare(self.BASE, series)['failures'], [])
        # A rename that drops a passing test and adds another is caught by name.
        series = {('x' if k.endswith('open_close') else '') + k: v for k, v in self.BASE.items()}
        self.assertTrue(hmm.compare(self.BASE, series)['failures'])

    def test_the_profile_is_not_for_rig_run(self):
        name = profiles.for_command('hmm').name
        with self.assertRaisesRegex(Exception, 'scripts/rig hmm'):
            profiles.select_for_run([name])

    def test_every_command_that_builds_has_its_one_profile(self):
        for command in ('hmm', 'bench', 'bench --pristine', 'coverage', 'bisect-build'):
            self.assertEqual(profiles.for_command(command).command, command)
        with self.assertRaisesRegex(Exception, '0 profiles have "command = nosuch"'):
            profiles.for_command('nosuch')


if __name__ == '__main__':
    unittest.main()
