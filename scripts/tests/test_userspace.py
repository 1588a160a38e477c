"""Userspace boots: the kernel command line and the build's errors."""

import os
import tempfile
import unittest

from riglib import userspace
from riglib.util import RigError


class BootArgs(unittest.TestCase):
    def test_root_init_and_programs(self):
        args = userspace.boot_args('/r', 42, None)
        self.assertIn('rootfstype=hostfs', args)
        self.assertIn('rootflags=/r', args)
        self.assertIn('init=/rig_init', args)
        self.assertIn('kunit.enable=0', args)
        # The fuzz seed reaches init's environment: no dot in its name, or
        # the kernel would take it for a module parameter.
        self.assertIn('fake_gpu_fuzz_seed=42', args)
        self.assertNotIn('.', 'fake_gpu_fuzz_seed')
        # init's own arguments come after "--", and are the programs.
        self.assertEqual(args[args.index('--') + 1:], ['/fake_gpu_test'])

    def test_extra_kernel_args_go_to_the_kernel_not_to_init(self):
        args = userspace.boot_args('/r', 1, None, ['fake_gpu.canary=leak'])
        self.assertLess(args.index('fake_gpu.canary=leak'), args.index('--'))

    def test_iterations_only_when_given(self):
        self.assertFalse(any(a.startswith('fake_gpu_fuzz_iters')
                             for a in userspace.boot_args('/r', 1, None)))
        self.assertIn('fake_gpu_fuzz_iters=7', userspace.boot_args('/r', 1, 7))


class Build(unittest.TestCase):
    def test_tree_without_the_harness_is_named(self):
        with tempfile.TemporaryDirectory() as tree:
            with self.assertRaises(RigError) as cm:
                userspace.build_programs(tree, tree)
            self.assertIn('kselftest_harness.h', str(cm.exception))

    def test_compile_error_is_reported(self):
        with tempfile.TemporaryDirectory() as tmp:
            sel = os.path.join(tmp, 'tools', 'testing', 'selftests')
            os.makedirs(sel)
            with open(os.path.join(sel, 'kselftest_harness.h'), 'w') as f:
                f.write('#error not the real harness\n')
            with self.assertRaises(RigError) as cm:
                userspace.build_programs(tmp, tmp)
            self.assertIn('cannot build userspace/', str(cm.exception))


if __name__ == '__main__':
    unittest.main()
