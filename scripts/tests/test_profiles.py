"""configs/profiles.ini: profiles are data, checked when they are read."""

import configparser
import unittest

from riglib import profiles
from riglib.util import RigError


def profile(**fields):
    parser = configparser.ConfigParser()
    parser['p'] = {'fragments': 'configs/common.config', **fields}
    return profiles.Profile('p', parser['p'])


class Profiles(unittest.TestCase):
    def test_the_repo_profiles(self):
        known = profiles.load()
        self.assertEqual(known['debug'].arch, 'um')
        self.assertEqual(known['debug'].userspace, 'hostfs')
        self.assertIsNone(known['fast'].userspace)
        smp = known['smp']
        self.assertTrue(smp.qemu)
        self.assertEqual(smp.userspace, 'initramfs')
        self.assertIn('-smp 2', smp.qemu_args)
        # KCSAN and KASAN cannot be combined: the smp profile has no KASAN.
        self.assertNotIn('kasan.config', ' '.join(smp.fragments))

    def test_boot_method_follows_the_architecture(self):
        self.assertEqual(profile(userspace='hostfs').userspace, 'hostfs')
        self.assertEqual(profile(arch='x86_64', userspace='initramfs').userspace, 'initramfs')
        for fields in ({'userspace': 'initramfs'},
                       {'arch': 'x86_64', 'userspace': 'hostfs'},
                       {'userspace': 'yes'}):
            with self.subTest(fields=fields), self.assertRaises(RigError) as cm:
                profile(**fields)
            self.assertIn('userspace', str(cm.exception))

    def test_an_llvm_profile_names_its_toolchain(self):
        kmsan = profiles.load()['kmsan']
        self.assertEqual(kmsan.llvm, '-19')
        self.assertEqual(kmsan.packages, ['clang-19', 'lld-19', 'llvm-19'])
        self.assertEqual(profiles.load()['smp'].packages, [])
        for bad in ('19', 'clang-19', '-'):
            with self.subTest(llvm=bad), self.assertRaisesRegex(RigError, 'version suffix'):
                profile(llvm=bad)

    def test_qemu_args_need_qemu(self):
        with self.assertRaises(RigError) as cm:
            profile(qemu_args='-smp 2')
        self.assertIn('qemu_args', str(cm.exception))
        self.assertEqual(profile(arch='x86_64', qemu_args='-smp 2').qemu_args, '-smp 2')


if __name__ == '__main__':
    unittest.main()
