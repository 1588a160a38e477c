"""The cache lock: a second rig on one cache waits for the first, or fails."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from riglib import lock, tree
from riglib.util import RigError

SCRIPTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RIG = os.path.join(SCRIPTS, 'rig')

# A rig stand-in that holds the lock until a line arrives on its stdin.
HOLDER = f'''
import sys
sys.path.insert(0, {SCRIPTS!r})
from riglib import lock
with lock.CacheLock('first rig', cache=sys.argv[1]):
    print('held', flush=True)
    sys.stdin.readline()
print('released', flush=True)
'''


class CacheLock(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='rig-lock-')
        self.cache = os.path.join(self.tmp, 'cache')
        self.env = dict(os.environ, RIG_CACHE=self.cache)
        self.env.pop('RIG_NO_WAIT', None)
        self.holder = subprocess.Popen([sys.executable, '-c', HOLDER, self.cache],
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       text=True)
        self.assertEqual(self.holder.stdout.readline(), 'held\n')

    def tearDown(self):
        # A test may have let the holder go already; it may not have
        # exited yet (seen under load).
        if not self.holder.stdin.closed:
            self.holder.stdin.write('go\n')
            self.holder.stdin.close()
        self.holder.wait(10)
        self.holder.stdout.close()
        shutil.rmtree(self.tmp)

    def rig(self, *args):
        # "export" of a --kernel tree that was never set up: its arguments
        # are good, and it fails once it has the lock, touching nothing,
        # which is all this test needs.
        kernel = os.path.join(self.tmp, 'kernel')
        os.makedirs(os.path.join(kernel, 'mm'), exist_ok=True)
        for name in ('Makefile', 'mm/mmu_notifier.c'):
            open(os.path.join(kernel, name), 'w').close()
        return subprocess.Popen([RIG, *args, '--kernel', kernel, 'export'], env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def test_second_rig_waits_and_says_for_what(self):
        second = self.rig()
        waiting = second.stdout.readline()
        self.assertIn(f'waiting for the cache {self.cache}', waiting)
        self.assertIn(f'pid {self.holder.pid}, "first rig"', waiting)
        # Still waiting: the first holds the lock until it is told to go.
        self.assertIsNone(second.poll())
        self.holder.stdin.write('go\n')
        self.holder.stdin.close()
        self.assertEqual(self.holder.stdout.readline(), 'released\n')
        rest, _ = second.communicate(timeout=30)
        self.assertEqual(second.returncode, 2)
        self.assertRegex(rest, r'rig: cache free after \d+ s\n')
        self.assertIn('no cached tree', rest)

    def test_no_wait_fails_at_once(self):
        second = self.rig('--no-wait')
        out, _ = second.communicate(timeout=30)
        self.assertEqual(second.returncode, 2)
        self.assertIn(f'the cache {self.cache} is in use by pid {self.holder.pid}', out)
        self.assertNotIn('no cached tree', out)
        self.assertIsNone(self.holder.poll())

    def test_results_name_the_checkout_and_commit(self):
        class Definition:
            name, fragments, series, hooks = 'mini', [], None, []
        kernel = os.path.join(self.tmp, 'kernel')
        os.makedirs(os.path.join(kernel, 'mm'))
        for path in ('Makefile', 'mm/mmu_notifier.c'):
            open(os.path.join(kernel, path), 'w').close()
        fields = tree.Base(Definition(), kernel).result_fields()
        self.assertEqual(fields['checkout'], lock.checkout_fields()['checkout'])
        self.assertRegex(fields['commit'] or '', r'^[0-9a-f]{40}(-dirty)?$')


# A rig stand-in that takes the lock of the cache argv[1] and runs a long
# child as the rig runs a build (riglib.proc), until it is killed.
BUILDER = f'''
import sys
sys.path.insert(0, {SCRIPTS!r})
from riglib import lock, proc
with lock.CacheLock('building rig', cache=sys.argv[1]):
    proc.run_logged(['sh', '-c', 'echo $$ > ' + sys.argv[2] + '.new; '
                     'mv ' + sys.argv[2] + '.new ' + sys.argv[2] + '; exec sleep 600'],
                    sys.argv[2] + '.log', 900)
'''


class KilledRig(unittest.TestCase):
    def test_the_cache_stays_locked_while_a_killed_rigs_build_runs(self):
        """SIGKILL (a CI timeout, the OOM killer) leaves the rig's build
        running in a process group of its own: the next rig must not take
        the cache, and build in it, before that build has ended."""
        with tempfile.TemporaryDirectory(prefix='rig-lock-') as tmp:
            cache, started = os.path.join(tmp, 'cache'), os.path.join(tmp, 'child')
            rig = subprocess.Popen([sys.executable, '-c', BUILDER, cache, started])
            deadline = time.monotonic() + 60
            while not os.path.exists(started) and time.monotonic() < deadline:
                time.sleep(0.05)
            with open(started) as f:
                child = int(f.read())
            rig.kill()
            rig.wait()
            try:
                with self.assertRaisesRegex(RigError, 'is in use by'):
                    with lock.CacheLock('next rig', wait=False, cache=cache):
                        pass
            finally:
                os.killpg(child, signal.SIGKILL)
            # The orphan gone, the cache is free: wait for it, no longer.
            with lock.CacheLock('next rig', cache=cache):
                pass


if __name__ == '__main__':
    unittest.main()
