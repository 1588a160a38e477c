"""kunitrun.logged(): the log, the time limit and the heartbeat of long steps."""

import contextlib
import io
import os
import tempfile
import unittest
from unittest import mock

from riglib import kunitrun, proc, profiles


class Logged(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.log = os.path.join(self.tmp.name, 'step.log')
        self.saved = proc.HEARTBEAT
        proc.HEARTBEAT = 0.2

    def tearDown(self):
        proc.HEARTBEAT = self.saved
        self.tmp.cleanup()

    def run_logged(self, script, timeout, **kwargs):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            rc, timed_out = kunitrun.logged(['sh', '-c', script], self.tmp.name, self.log,
                                             timeout, env=dict(os.environ), **kwargs)
        return rc, timed_out, out.getvalue()

    def test_output_goes_to_the_log(self):
        rc, timed_out, out = self.run_logged('echo hello; exit 3', 10, what='[x] step')
        self.assertEqual((rc, timed_out, out), (3, False, ''))
        with open(self.log) as f:
            self.assertEqual(f.read(), 'hello\n')

    def test_a_long_build_says_what_it_has_written(self):
        _, _, out = self.run_logged('sleep 0.3; touch a.o; sleep 0.4', 10,
                                    what='[x] still building', bdir=self.tmp.name)
        lines = out.splitlines()
        self.assertGreaterEqual(len(lines), 2)
        self.assertRegex(lines[0], r'^rig: \[x\] still building: \d+ s, 0 objects written$')
        self.assertRegex(lines[-1], r', 1 objects written$')

    def test_no_heartbeat_without_a_name(self):
        _, _, out = self.run_logged('sleep 0.5', 10)
        self.assertEqual(out, '')

    def test_time_limit_kills_the_process_group(self):
        rc, timed_out, _ = self.run_logged('sleep 30 & wait', 0.5, what='[x] step')
        self.assertTrue(timed_out)
        self.assertNotEqual(rc, 0)


if __name__ == '__main__':
    unittest.main()


class Toolchain(unittest.TestCase):
    """A profile's toolchain reaches kunit.py's make, and its own ccache."""

    def test_gcc_and_llvm_builds(self):
        known = profiles.load()
        gcc = kunitrun.kunit_cmd('/t', 'build', '/b', 2, known['smp'])
        self.assertIn('CC=ccache gcc', gcc)
        self.assertFalse([a for a in gcc if a.startswith('LLVM=')])
        llvm = kunitrun.kunit_cmd('/t', 'build', '/b', 2, known['kmsan'])
        self.assertIn('CC=ccache clang-19', llvm)
        self.assertIn('LLVM=-19', llvm)
        self.assertEqual(llvm[llvm.index('LLVM=-19') - 1], '--make_options')
        # exec does not build: no toolchain.
        self.assertNotIn('LLVM=-19', kunitrun.kunit_cmd('/t', 'exec', '/b', 2, known['kmsan']))

    def test_an_llvm_build_has_a_ccache_of_its_own(self):
        known = profiles.load()
        with mock.patch.dict(os.environ, {'CCACHE_DIR': '/c/ccache'}):
            self.assertEqual(kunitrun.build_env(known['smp'])['CCACHE_DIR'], '/c/ccache')
            self.assertEqual(kunitrun.build_env()['CCACHE_DIR'], '/c/ccache')
            self.assertEqual(kunitrun.build_env(known['kmsan'])['CCACHE_DIR'],
                             '/c/ccache-llvm-19')
