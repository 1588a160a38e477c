"""rig check-log: the splat gate over a KUnit console, a kselftest TAP log
and a plain dmesg.

The KUnit console is recorded from this rig (clean-7.3.log); the kselftest
log and the dmesg are written in those tools' formats (kselftest's flat TAP
with nested "# " output, dmesg's timestamps, 7.3's WARNING first line): no
run of either on hardware is recorded here.
"""

import json
import os
import subprocess
import unittest

from riglib import checklog

LOGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'logs')
RIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'rig')


def read(*path):
    with open(os.path.join(LOGS, *path)) as f:
        return f.read()


class CheckLog(unittest.TestCase):
    def test_kunit_console(self):
        clean = read('clean-7.3.log')
        _, failures = checklog.check(clean, 'upstream')
        self.assertEqual(failures, [])
        # A warning inside a test fails the log and names the test.
        at = clean.index('    ok 3 tp_test_finish_order')
        splat = read('splats', 'warning.txt')
        _, failures = checklog.check(clean[:at] + splat + clean[at:], 'upstream')
        self.assertEqual(len(failures), 1)
        self.assertIn('warning splat in mmu_interval_two_pass.tp_test_finish_order',
                      str(failures[0]))

    def test_kmsan_entries_need_the_kernels_config(self):
        # guc_idm under KMSAN (the kmsan profile, 7.3.4): the WARN-path
        # reports the allowlist takes only in a kernel with CONFIG_KMSAN.
        log = read('check-log', 'kmsan-guc-idm.log')
        _, failures = checklog.check(log, 'upstream')
        self.assertEqual([f.kind for f in failures], ['splat'])
        self.assertIn('kmsan splat in guc_idm.no_init', str(failures[0]))
        _, failures = checklog.check(log, 'upstream', options={'CONFIG_KMSAN'})
        self.assertEqual(failures, [])

    def test_kselftest_tap(self):
        verdict, failures = checklog.check(read('check-log', 'kselftest-mm.log'))
        self.assertEqual((verdict.count('pass'), verdict.count('skip')), (2, 1))
        self.assertEqual(len(failures), 1)
        self.assertIn('warning splat in selftests: mm: mremap_test', str(failures[0]))

    def test_dmesg(self):
        _, failures = checklog.check(read('check-log', 'dmesg-xe.txt'), ktap=False)
        self.assertEqual(len(failures), 1)
        self.assertIn('warning splat in boot', str(failures[0]))
        self.assertIn('xe_userptr.c:98', str(failures[0]))
        clean = read('check-log', 'dmesg-clean.txt')
        self.assertEqual(checklog.check(clean, ktap=False)[1], [])
        # A dmesg is no test run: without --no-ktap it fails for that.
        self.assertIn('no KTAP output', ' '.join(map(str, checklog.check(clean)[1])))

    def rig(self, *args, stdin=None):
        return subprocess.run([RIG, 'check-log', *args], input=stdin, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def test_command_exit_status_and_json(self):
        res = self.rig('--no-ktap', '--json', '-', stdin=read('check-log', 'dmesg-xe.txt'))
        self.assertEqual(res.returncode, 1)
        data = json.loads(res.stdout)
        self.assertFalse(data['passed'])
        self.assertEqual(data['splats'][0]['kind'], 'warning')
        res = self.rig('--no-ktap', os.path.join(LOGS, 'check-log', 'dmesg-clean.txt'))
        self.assertEqual(res.returncode, 0, res.stdout)
        self.assertIn('PASS', res.stdout)
        res = self.rig(os.path.join(LOGS, 'no-such.log'))
        self.assertEqual(res.returncode, 2)
        self.assertIn('no-such.log: no such file', res.stderr)


if __name__ == '__main__':
    unittest.main()
