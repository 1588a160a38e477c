"""Fetching a pinned Debian package through a private apt configuration.

apt-get and apt-cache are replaced by a fake on PATH that serves one real
.deb (built with dpkg-deb) and can play an archive that dropped the pinned
version, a machine without network, or a download that arrives corrupt.
"""

import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
import unittest

from riglib import debsrc
from riglib.util import RigError

FAKE_APT = r'''#!/usr/bin/env python3
import os, sys
mode = os.environ['FAKE_APT_MODE']
deb = os.environ['FAKE_APT_DEB']
with open(os.environ['FAKE_APT_LOG'], 'a') as log:
    log.write(' '.join(sys.argv) + '\n')
tool = os.path.basename(sys.argv[0])
args = [a for a in sys.argv[1:] if not a.startswith('-') and '::' not in a]
if tool == 'apt-get' and args[0] == 'update':
    if mode == 'offline':
        print('E: Failed to fetch http://deb.debian.org/ Temporary failure resolving',
              file=sys.stderr)
        sys.exit(100)
    sys.exit(0)
if tool == 'apt-cache' and args[0] == 'madison':
    versions = ['7.3.5-1~bpo13+1'] if mode == 'gone' else ['7.3.4-1~bpo13+1', '7.2.12-1']
    for v in versions:
        print(f' {args[1]} | {v} | http://deb.debian.org/debian trixie-backports/main')
    sys.exit(0)
if tool == 'apt-cache' and args[0] == 'show':
    print('Package: linux-source-7.3')
    if mode != 'no-sha':
        print('SHA256: ' + os.environ['FAKE_APT_SHA'])
    sys.exit(0)
if tool == 'apt-get' and args[0] == 'download':
    name = args[1].replace('=', '_') + '_all.deb'
    with open(deb, 'rb') as f:
        data = f.read()
    if mode == 'corrupt':
        data = data[:len(data) // 2]
    with open(name, 'wb') as f:
        f.write(data)
    sys.exit(0)
sys.exit(1)
'''


class Fetch(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='rig-debsrc-')
        root = os.path.join(self.tmp, 'pkg')
        os.makedirs(os.path.join(root, 'DEBIAN'))
        os.makedirs(os.path.join(root, 'usr', 'src'))
        with open(os.path.join(root, 'DEBIAN', 'control'), 'w') as f:
            f.write('Package: linux-source-7.3\nVersion: 7.3.4-1~bpo13+1\n'
                    'Architecture: all\nMaintainer: t <t@t>\nDescription: t\n')
        with open(os.path.join(root, 'usr', 'src', 'linux-source-7.3.tar.xz'), 'wb') as f:
            f.write(b'the tarball\n' * 1000)
        self.deb = os.path.join(self.tmp, 'p.deb')
        subprocess.run(['dpkg-deb', '--build', root, self.deb], check=True,
                       stdout=subprocess.DEVNULL)
        with open(self.deb, 'rb') as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        bindir = os.path.join(self.tmp, 'bin')
        os.makedirs(bindir)
        for tool in ('apt-get', 'apt-cache'):
            path = os.path.join(bindir, tool)
            with open(path, 'w') as f:
                f.write(FAKE_APT)
            os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
        self.log = os.path.join(self.tmp, 'apt.log')
        self.saved = dict(os.environ)
        os.environ.update(PATH=bindir + os.pathsep + os.environ['PATH'],
                          RIG_CACHE=os.path.join(self.tmp, 'cache'), FAKE_APT_DEB=self.deb,
                          FAKE_APT_SHA=sha, FAKE_APT_LOG=self.log, FAKE_APT_MODE='ok')
        keyring = os.path.join(self.tmp, 'keyring.gpg')
        open(keyring, 'w').close()
        self.pkg = debsrc.Package('linux-source-7.3', '7.3.4-1~bpo13+1',
                                  'http://deb.debian.org/debian', 'trixie-backports',
                                  'usr/src/linux-source-7.3.tar.xz', keyring)
        self.dest = os.path.join(self.tmp, 'cache', 'sources', 'k', 'linux-source-7.3.tar.xz')

    def tearDown(self):
        os.environ.clear()
        os.environ.update(self.saved)
        shutil.rmtree(self.tmp)

    def assert_nothing_left(self):
        self.assertFalse(os.path.exists(self.dest))
        self.assertEqual(os.listdir(os.path.dirname(self.dest))
                         if os.path.isdir(os.path.dirname(self.dest)) else [], [])

    def test_fetch_unpacks_the_member_and_never_reads_system_apt(self):
        self.assertEqual(debsrc.fetch(self.pkg, self.dest), self.dest)
        with open(self.dest, 'rb') as f:
            self.assertEqual(f.read(), b'the tarball\n' * 1000)
        with open(self.log) as f:
            calls = f.read().splitlines()
        for call in calls:
            self.assertIn('Dir::Etc::SourceList=' + os.environ['RIG_CACHE'], call)
            self.assertIn('Dir::Etc::SourceParts=/dev/null', call)
            self.assertIn('Dir::State::status=' + os.environ['RIG_CACHE'], call)
        apt_dir = os.path.join(os.environ['RIG_CACHE'], 'apt', 'trixie-backports')
        with open(os.path.join(apt_dir, 'sources.list')) as f:
            self.assertEqual(f.read(), f'deb [signed-by={self.pkg.keyring}] '
                             'http://deb.debian.org/debian trixie-backports main\n')
        # A second fetch finds the complete file and asks apt nothing.
        debsrc.fetch(self.pkg, self.dest)
        with open(self.log) as f:
            self.assertEqual(len(f.read().splitlines()), len(calls))

    def test_version_gone_names_the_versions_there_are(self):
        os.environ['FAKE_APT_MODE'] = 'gone'
        with self.assertRaisesRegex(RigError, r'7\.3\.4-1~bpo13\+1 is not in trixie-backports'
                                    r'.*it has: 7\.3\.5-1~bpo13\+1.*configs/bases\.ini'):
            debsrc.fetch(self.pkg, self.dest)
        self.assert_nothing_left()

    def test_no_network_is_a_clear_error(self):
        os.environ['FAKE_APT_MODE'] = 'offline'
        with self.assertRaisesRegex(RigError, 'cannot read the index of trixie-backports'
                                    r'(.|\n)*Temporary failure resolving'):
            debsrc.fetch(self.pkg, self.dest)
        self.assert_nothing_left()

    def test_corrupt_download_keeps_nothing(self):
        os.environ['FAKE_APT_MODE'] = 'corrupt'
        with self.assertRaisesRegex(RigError, 'SHA256 does not match'):
            debsrc.fetch(self.pkg, self.dest)
        self.assert_nothing_left()

    def test_a_download_that_cannot_be_checked_is_refused(self):
        os.environ['FAKE_APT_MODE'] = 'no-sha'
        with self.assertRaisesRegex(RigError, 'index gives no SHA256 .* cannot be checked'):
            debsrc.fetch(self.pkg, self.dest)
        self.assert_nothing_left()

    def test_missing_keyring_is_named(self):
        self.pkg.keyring = os.path.join(self.tmp, 'nope.gpg')
        with self.assertRaisesRegex(RigError, 'nope.gpg not found'):
            debsrc.fetch(self.pkg, self.dest)


if __name__ == '__main__':
    unittest.main()
