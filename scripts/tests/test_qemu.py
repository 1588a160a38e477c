"""riglib.qemu: the accelerator the rig forces on kunit.py's QEMU."""

import os
import subprocess
import tempfile
import unittest
from unittest import mock

from riglib import profiles, qemu
from riglib.util import RigError


class Wrapper(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        bindir = os.path.join(self.tmp.name, 'bin')
        os.makedirs(bindir)
        # The "real" QEMU prints its arguments, one per line.
        real = os.path.join(bindir, 'qemu-system-x86_64')
        with open(real, 'w') as f:
            f.write('#!/bin/sh\nfor a do echo "$a"; done\n')
        os.chmod(real, 0o755)
        self.env = mock.patch.dict(os.environ, {
            'PATH': bindir + os.pathsep + os.environ['PATH'],
            'RIG_CACHE': os.path.join(self.tmp.name, 'cache')})
        self.env.start()

    def tearDown(self):
        self.env.stop()
        self.tmp.cleanup()

    def run_wrapper(self, args, accel):
        wrapper = os.path.join(qemu.wrapper_dir('x86_64'), 'qemu-system-x86_64')
        env = dict(os.environ, RIG_QEMU_ACCEL=accel)
        return subprocess.run([wrapper, *args], env=env, stdout=subprocess.PIPE,
                              text=True, check=True).stdout.splitlines()

    def test_every_accel_is_replaced_by_the_chosen_one(self):
        kunit_args = ['-nodefaults', '-append', 'a b -- /x', '-accel', 'kvm', '-accel', 'hvf',
                      '-accel', 'tcg', '-serial', 'stdio', '-smp', '2']
        self.assertEqual(self.run_wrapper(kunit_args, 'tcg'),
                         ['-nodefaults', '-append', 'a b -- /x', '-serial', 'stdio',
                          '-smp', '2', '-accel', 'tcg'])

    def test_without_accel_arguments_the_chosen_one_is_added(self):
        self.assertEqual(self.run_wrapper(['-m', '1024'], 'kvm'),
                         ['-m', '1024', '-accel', 'kvm'])

    def test_forced_accelerator_skips_the_probe(self):
        with mock.patch.dict(os.environ, {'RIG_QEMU_ACCEL': 'tcg'}), \
                mock.patch.object(qemu, 'probe_kvm') as probe:
            self.assertEqual(qemu.accel('x86_64', '/k'), 'tcg')
            probe.assert_not_called()
        with mock.patch.dict(os.environ, {'RIG_QEMU_ACCEL': 'whpx'}):
            with self.assertRaisesRegex(RigError, 'RIG_QEMU_ACCEL=whpx'):
                qemu.accel('x86_64', '/k')

    def test_the_probe_decides_once_per_run(self):
        os.environ.pop('RIG_QEMU_ACCEL', None)
        with mock.patch.dict(qemu._chosen, clear=True), \
                mock.patch.object(qemu, 'probe_kvm', return_value=False) as probe:
            self.assertEqual(qemu.accel('x86_64', '/k'), 'tcg')
            self.assertEqual(qemu.accel('x86_64', '/k'), 'tcg')
            self.assertEqual(probe.call_count, 1)

    def test_an_icount_profile_runs_under_tcg_without_a_probe(self):
        icount = profiles.load()['bench-icount']
        os.environ.pop('RIG_QEMU_ACCEL', None)
        with mock.patch.dict(qemu._chosen, clear=True), \
                mock.patch.object(qemu, 'probe_kvm', return_value=True) as probe:
            self.assertEqual(qemu.env(icount, '/k', {})['RIG_QEMU_ACCEL'], 'tcg')
            probe.assert_not_called()
            # A profile without -icount is probed as before.
            self.assertEqual(qemu.env(profiles.load()['smp'], '/k', {})['RIG_QEMU_ACCEL'],
                             'kvm')
        with mock.patch.dict(os.environ, {'RIG_QEMU_ACCEL': 'kvm'}):
            with self.assertRaisesRegex(RigError, 'needs TCG'):
                qemu.env(icount, '/k', {})

    def test_a_missing_qemu_is_named(self):
        with mock.patch.dict(os.environ, {'PATH': self.tmp.name}):
            with self.assertRaisesRegex(RigError, 'qemu-system-x86'):
                qemu.wrapper_dir('x86_64')


if __name__ == '__main__':
    unittest.main()
