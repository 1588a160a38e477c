"""riglib.packages: apt's output goes to a log; the terminal gets one line."""

import contextlib
import io
import os
import shutil
import stat
import tempfile
import unittest
from unittest import mock

from riglib import packages
from riglib.util import RigError

# A stand-in for apt-get: as chatty as the real one, failing when told to.
FAKE_APT = '''#!/bin/sh
i=0
while [ $i -lt 200 ]; do echo "Unpacking thing $i ..."; i=$((i+1)); done
[ -e "$(dirname "$0")/fail" ] && { echo "E: Unable to locate package $4"; exit 100; }
exit 0
'''


class Install(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='rig-packages-')
        self.bin = os.path.join(self.tmp, 'bin')
        os.makedirs(self.bin)
        apt = os.path.join(self.bin, 'apt-get')
        with open(apt, 'w') as f:
            f.write(FAKE_APT)
        os.chmod(apt, stat.S_IRWXU)
        env = {'PATH': self.bin + os.pathsep + os.environ['PATH'],
               'RIG_CACHE': os.path.join(self.tmp, 'cache')}
        self.patches = [mock.patch.dict(os.environ, env),
                        mock.patch.object(packages, 'missing', lambda p: ['nosuch']),
                        mock.patch.object(os, 'geteuid', lambda: 0)]
        for p in self.patches:
            p.start()

    def tearDown(self):
        for p in reversed(self.patches):
            p.stop()
        shutil.rmtree(self.tmp)

    def ensure(self):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            packages.ensure(['nosuch'])
        return out.getvalue() + err.getvalue()

    def test_one_line_and_the_log(self):
        printed = self.ensure()
        self.assertEqual(len(printed.splitlines()), 1, printed)
        self.assertIn('installed 1 Debian package(s) (nosuch)', printed)
        self.assertIn(packages.log_path(), printed)
        with open(packages.log_path()) as f:
            self.assertIn('Unpacking thing 199', f.read())

    def test_a_failure_shows_the_end_of_the_log(self):
        open(os.path.join(self.bin, 'fail'), 'w').close()
        with self.assertRaisesRegex(RigError, r'(?s)installing nosuch failed; the end of '
                                    r'.*packages.log:.*E: Unable to locate package'):
            self.ensure()

    def test_not_root_gets_the_command(self):
        with mock.patch.object(os, 'geteuid', lambda: 1000):
            with self.assertRaisesRegex(RigError, 'run as root:  apt-get install -y '
                                        '--no-install-recommends nosuch'):
                self.ensure()


if __name__ == '__main__':
    unittest.main()
