"""Userspace boots: the kernel command line and the build's errors."""

import configparser
import os
import subprocess
import tempfile
import unittest

from riglib import profiles, qemu, userspace
from riglib.util import RigError


# A program that writes its result line in two pieces, with time between
# them for a kernel message to land in (as the PS/2 probe did), and a last
# line without its newline.
SPLIT_WRITER = '''#!/bin/sh
printf 'not '
sleep 0.2
echo 'ok 1 - split'
printf '# no newline'
'''


# A program that leaves a child behind holding its output open, as a test
# child stuck on a broken kernel does; the child ignores the hangup that
# the program's exit sends, so the pty stays open.
LEAVES_A_CHILD = '''#!/bin/sh
echo before
trap "" HUP
sleep 4242 &
echo after
exit 3
'''


class Init(unittest.TestCase):
    """userspace/rig_init.c, run as an ordinary process: it then writes the
    records it would give /dev/kmsg to $rig_records, a line each."""

    def run_init(self, script):
        """Run init on the shell @script; the records it wrote, and the
        program's path as init names it."""
        with tempfile.TemporaryDirectory() as tmp:
            userspace.build_init(tmp)
            prog = os.path.join(tmp, 'prog')
            with open(prog, 'w') as f:
                f.write(script)
            os.chmod(prog, 0o755)
            records = os.path.join(tmp, 'records')
            res = subprocess.run([os.path.join(tmp, userspace.INIT), prog],
                                 env=dict(os.environ, rig_records=records), timeout=60)
            self.assertEqual(res.returncode, 0)
            with open(records) as f:
                return f.read().splitlines(), prog

    def test_each_line_of_a_program_is_one_record(self):
        records, prog = self.run_init(SPLIT_WRITER)
        self.assertEqual(records, ['<5>not ok 1 - split', '<5># no newline',
                                   f'<5>rig_init: {prog} exited with 0'])

    def test_init_goes_on_when_the_program_exits(self):
        try:
            records, prog = self.run_init(LEAVES_A_CHILD)
        finally:
            subprocess.run(['pkill', '-f', 'sleep 4242'])
        self.assertEqual(records, ['<5>before', '<5>after',
                                   f'<5>rig_init: {prog} exited with 3'])


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

    def test_init_records_are_not_rate_limited(self):
        for boot in ('hostfs', 'initramfs'):
            args = userspace.boot_args('/r', 1, None, boot=boot)
            self.assertLess(args.index('printk.devkmsg=on'), args.index('--'))

    def test_extra_kernel_args_go_to_the_kernel_not_to_init(self):
        args = userspace.boot_args('/r', 1, None, ['fake_gpu.canary=leak'])
        self.assertLess(args.index('fake_gpu.canary=leak'), args.index('--'))

    def test_iterations_only_when_given(self):
        self.assertFalse(any(a.startswith('fake_gpu_fuzz_iters')
                             for a in userspace.boot_args('/r', 1, None)))
        self.assertIn('fake_gpu_fuzz_iters=7', userspace.boot_args('/r', 1, 7))


class HarnessFilter(unittest.TestCase):
    def test_each_test_becomes_a_run_option(self):
        self.assertEqual(userspace.harness_filter('fake_gpu_test', []), 'fake_gpu_test')
        self.assertEqual(userspace.harness_filter('fake_gpu_test', ['global.a', 'gpu.one.b']),
                         'fake_gpu_test,-r,global.a,-r,gpu.one.b')

    def test_a_name_init_cannot_split_back_is_refused(self):
        for bad in ('a,b', 'a b', ''):
            with self.subTest(bad=bad), self.assertRaises(RigError):
                userspace.harness_filter('p', [bad])


class InitramfsBoot(unittest.TestCase):
    def test_init_from_the_initramfs_and_reboot_to_end_qemu(self):
        args = userspace.boot_args('/r', 42, None, boot='initramfs')
        self.assertIn('rdinit=/rig_init', args)
        self.assertIn('rig_shutdown=reboot', args)
        self.assertFalse(any(a.startswith(('root', 'init=', 'mem=')) for a in args), args)
        self.assertIn('fake_gpu_fuzz_seed=42', args)
        self.assertEqual(args[args.index('--') + 1:], ['/fake_gpu_test'])

    def test_cpio_list_has_the_console_and_every_file(self):
        with tempfile.TemporaryDirectory() as root:
            for d in ('dev', 'proc', 'sub/deeper'):
                os.makedirs(os.path.join(root, d))
            for f in ('rig_init', 'sub/deeper/prog'):
                with open(os.path.join(root, f), 'w') as out:
                    out.write('x')
            lines = userspace.cpio_list(root).splitlines()
        self.assertEqual(lines[:2], ['dir /dev 0755 0 0', 'nod /dev/console 0600 0 0 c 5 1'])
        self.assertEqual(lines.count('dir /dev 0755 0 0'), 1)
        self.assertIn('dir /proc 0755 0 0', lines)
        self.assertIn(f'file /rig_init {root}/rig_init 0755 0 0', lines)
        # A directory comes before what it holds.
        self.assertLess(lines.index('dir /sub/deeper 0755 0 0'),
                        lines.index(f'file /sub/deeper/prog {root}/sub/deeper/prog 0755 0 0'))

    def test_without_gen_init_cpio_the_profile_is_named(self):
        with tempfile.TemporaryDirectory() as bdir:
            with self.assertRaises(RigError) as cm:
                userspace.write_initramfs(bdir, bdir, os.path.join(bdir, 'x.cpio'))
            self.assertIn('userspace-initramfs.config', str(cm.exception))


# A tree's kunit_kernel.py, reduced to what qemu.command() uses:
# like kunit.py's, start() adds the console after the arguments it is given.
FAKE_KUNIT_KERNEL = """
import subprocess
def _default_qemu_config_path(arch):
    return arch
class Ops:
    def __init__(self, extra):
        self.extra = extra
    def start(self, params, build_dir):
        return subprocess.Popen(['qemu-system-x86_64', '-kernel', build_dir + '/bzImage',
                                 '-append', ' '.join(params + ['console=ttyS0',
                                                              'kunit_shutdown=reboot'])]
                                + self.extra)
def _get_qemu_ops(path, extra, cross_compile):
    return path, Ops(extra)
"""


def qemu_profile(**fields):
    parser = configparser.ConfigParser()
    parser['p'] = {'fragments': 'configs/common.config', 'arch': 'x86_64', **fields}
    return profiles.Profile('p', parser['p'])


class QemuCommand(unittest.TestCase):
    def test_kunit_py_command_with_init_arguments_last(self):
        profile = qemu_profile(qemu_args='-smp 2 -m 2048', userspace='initramfs')
        with tempfile.TemporaryDirectory() as tree:
            kunit = os.path.join(tree, 'tools', 'testing', 'kunit')
            os.makedirs(kunit)
            with open(os.path.join(kunit, 'kunit_kernel.py'), 'w') as f:
                f.write(FAKE_KUNIT_KERNEL)
            params = userspace.boot_args('/r', 3, None, boot='initramfs')
            cmd = qemu.command(tree, profile, '/b', params, userspace=True)
        self.assertEqual(cmd[:3], ['qemu-system-x86_64', '-kernel', '/b/bzImage'])
        self.assertEqual(cmd[-4:], ['-smp', '2', '-m', '2048'])
        append = cmd[cmd.index('-append') + 1]
        # The console is kunit.py's; KUnit's shutdown is overridden after
        # kunit.py's own; what follows "--" is init's, the programs.
        self.assertTrue(append.endswith('console=ttyS0 kunit_shutdown=reboot kunit_shutdown=none '
                                       '-- /fake_gpu_test'),
                        append)

    def test_a_tree_without_kunit_is_an_error(self):
        profile = qemu_profile()
        with tempfile.TemporaryDirectory() as tree:
            with self.assertRaisesRegex(RigError, 'cannot get the QEMU command of x86_64'):
                qemu.command(tree, profile, '/b', ['a'])


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
