"""configs/canaries.ini and how a canary run's summary is judged."""

import os
import re
import unittest

from riglib import canaries, gate, profiles
from riglib.gate import Failure
from riglib.summary import Summary
from riglib.util import REPO


class Canaries(unittest.TestCase):
    def test_every_canary_of_the_issue_is_configured(self):
        names = {c['name']: c for c in canaries.load()}
        self.assertEqual(set(names), {'lockdep', 'kasan', 'sleep', 'hang', 'leak',
                                      'leak-userspace', 'resv', 'exec', 'race', 'ubsan',
                                      'kmsan'})
        self.assertEqual(names['kmsan']['detectors'], ['kmsan'])
        self.assertEqual(profiles.load()[names['kmsan']['profile']].llvm, '-19')
        # UBSAN (issue 32), in the UML profile rig test builds, which has it.
        self.assertEqual(names['ubsan']['detectors'], ['ubsan'])
        self.assertIn('configs/ubsan.config', ' '.join(
            profiles.load()[names['ubsan']['profile']].fragments))
        # The data race only KCSAN sees, on the SMP profile (issue 13).
        self.assertEqual(names['race']['detectors'], ['kcsan'])
        self.assertEqual(names['race']['profile'], 'smp')
        # The VM_BIND locking rules (issue 12, section 5).
        self.assertEqual(names['resv']['detectors'], ['lockdep'])
        self.assertIn('stale-access', names['exec']['detectors'])
        # The userspace canary switches on the leak canary, in processes.
        self.assertEqual(names['leak-userspace']['canary'], 'leak')
        self.assertEqual(names['leak-userspace']['suites'], canaries.USERSPACE)
        self.assertEqual(names['leak']['profile'], 'leak')
        self.assertEqual(names['lockdep']['detectors'], ['lockdep'])
        self.assertIn('hung-task', names['hang']['detectors'])

    def test_every_switch_is_one_the_fake_gpu_has(self):
        # A canary the driver does not know would boot a kernel that
        # rejects fake_gpu.canary= and proves nothing; one the driver has
        # and no section names is dead code in its hot paths.
        with open(os.path.join(REPO, 'fake-gpu', 'fake_gpu_canary.c')) as f:
            known = set(re.findall(r'\] = "(\w+)"', f.read()))
        self.assertEqual({c['canary'] for c in canaries.load()}, known)

    def test_detected_names_splats_timeouts_and_failed_tests(self):
        summary = Summary('c', '7.3', splats=[{'kind': 'kasan', 'first_lines': ['BUG: KASAN: x']}],
                          timeout='kunit.py --timeout', run_seconds=90,
                          failures=[Failure(gate.SPLAT, 'kasan splat in t', 't'),
                                    Failure(gate.TEST, 'test failed: s.t', 's.t')])
        self.assertEqual([d for d, _ in canaries.detected(summary)],
                         ['kasan', 'timeout', 'test'])

    def test_a_clean_run_detects_nothing(self):
        self.assertEqual(canaries.detected(Summary('c', '7.3')), [])


if __name__ == '__main__':
    unittest.main()
