"""scripts/rig checks its arguments before the cache's lock and any fetch."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from riglib import lock
from riglib.util import REPO

RIG = os.path.join(REPO, 'scripts', 'rig')

# (command line, what the error says)
BAD = [
    (['run', '--profile', 'nosuch'], 'unknown profile nosuch'),
    (['run', '--profile', 'hmm'], 'profile hmm is run by "scripts/rig hmm"'),
    (['run', '--jobs', '0'], '--jobs must be at least 1, not 0'),
    (['run', '--fuzz-iters', '0'], '--fuzz-iters must be at least 1'),
    (['--base', 'nosuch', 'run'], 'unknown base nosuch'),
    (['--kernel', '/nonexistent', 'run'], 'not a kernel source tree'),
    (['mutants', 'nosuch'], 'unknown mutant nosuch'),
    (['mutants', '--profile', 'nosuch'], 'unknown profile nosuch'),
    (['mutants', '--shard', '3/2'], r'--shard 3/2: not I/N'),
    (['--base', 'upstream-rfc', 'mutants', 'core/nosuch'], 'unknown mutant core/nosuch'),
    (['canaries', 'nosuch'], 'unknown canary nosuch'),
    (['bench', '--reps', '0'], '--reps must be at least 1, not 0'),
    (['bench', '--pristine', '--boots', '0'], '--boots must be at least 1'),
    (['bench', '--icount', '--boots', '1'], '--boots must be at least 2, not 1'),
    (['bench', '--boots', '3'], '--boots needs --pristine or --icount'),
    (['bench', '--pristine', '--icount'], '--pristine and --icount are two benchmarks'),
    (['--base', '6.12', 'bench', '--icount'], 'base 6.12 backports the series'),
    (['test', '--step', 'nosuch'], 'base upstream does not test nosuch'),
    (['test', '--shard', '1/4'], '--shard needs --step mutants'),
    (['test', '--step', 'debug', '--shard', '1/4'], '--shard needs --step mutants'),
    (['check-log', '/nonexistent'], '/nonexistent: no such file'),
]


class Arguments(unittest.TestCase):
    def setUp(self):
        self.cache = tempfile.mkdtemp(prefix='rig-args-')

    def tearDown(self):
        shutil.rmtree(self.cache)

    def test_bad_arguments_fail_first_with_the_cache_busy_and_empty(self):
        env = dict(os.environ, RIG_CACHE=self.cache, RIG_NO_WAIT='1')
        env.pop('RIG_BASE', None)
        env.pop('RIG_KERNEL', None)
        # Another rig holds the cache: an argument error must still be the
        # error reported, at once, not "in use" or a wait.
        with lock.CacheLock('another rig', cache=self.cache):
            for argv, message in BAD:
                with self.subTest(argv=argv):
                    res = subprocess.run([sys.executable, RIG, *argv], env=env,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                         text=True, timeout=60)
                    self.assertEqual(res.returncode, 2, res.stdout)
                    self.assertRegex(res.stdout, 'rig: error: .*' + message)
                    self.assertNotIn('in use', res.stdout)
        # Nothing was fetched, unpacked or built.
        self.assertEqual(os.listdir(self.cache), [lock.LOCK_NAME])

    def test_icount_needs_a_base_package_not_a_tree(self):
        kernel = os.path.join(self.cache, 'kernel')
        os.makedirs(os.path.join(kernel, 'mm'))
        for name in ('Makefile', 'mm/mmu_notifier.c'):
            open(os.path.join(kernel, name), 'w').close()
        env = dict(os.environ, RIG_CACHE=self.cache, RIG_NO_WAIT='1')
        env.pop('RIG_BASE', None)
        res = subprocess.run([sys.executable, RIG, '--kernel', kernel, 'bench', '--icount'],
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, timeout=60)
        self.assertEqual(res.returncode, 2, res.stdout)
        self.assertIn('not with --kernel', res.stdout)


if __name__ == '__main__':
    unittest.main()
