"""mypy over the runner (scripts/mypy.ini): every function annotated, no error.

mypy is Debian's package "mypy", which "scripts/rig setup" installs; its
absence is a failure here, not a skip.
"""

import os
import shutil
import subprocess
import unittest

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Types(unittest.TestCase):
    def test_mypy_finds_no_error(self):
        mypy = shutil.which('mypy')
        self.assertIsNotNone(mypy, 'mypy is not installed (Debian package "mypy")')
        res = subprocess.run([mypy, '--no-error-summary'], cwd=SCRIPTS, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.assertEqual(res.returncode, 0, res.stdout)


if __name__ == '__main__':
    unittest.main()
