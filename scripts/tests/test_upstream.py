"""rig format-upstream's refusals: no identity, a commit id it does not know.

That the real sets format into mails that apply to the pristine kernel
and pass checkpatch is checked by the checkpatch step (riglib.style), on
the cached tree.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from riglib import style, upstream
from riglib.util import REPO, RigError

DEFER = ('drm/xe/userptr: Defer Waiting for TLB invalidation to the second pass '
         'if possible')


def patch_with(trailers):
    return f'Subject: [PATCH] x\n\nWhy.\n\n{trailers}\n---\n'


class References(unittest.TestCase):
    def setUp(self):
        self.commits = upstream.load_commits()

    def check(self, trailers):
        upstream.check_references('p.patch', patch_with(trailers), self.commits)

    def test_the_stored_patches_name_known_commits(self):
        for path in style.patches():
            with open(path, encoding='utf-8') as f:
                upstream.check_references(path, f.read(), self.commits)

    def test_stables_own_forms_must_name_a_known_commit(self):
        with self.assertRaisesRegex(RigError, 'upstream commit 0123456789ab is not in'):
            self.check('[ Upstream commit 0123456789ab ]')
        with self.assertRaisesRegex(RigError, f'upstream commit {"1" * 40} is not in'):
            self.check(f'commit {"1" * 40} upstream.')
        self.check(f'commit {self.commits[DEFER].sha} upstream.')

    def test_a_backport_names_its_upstream_commit_by_the_listed_id(self):
        subject = 'drm/xe: Split TLB invalidation into submit and wait steps'
        self.check(f'commit {self.commits[subject].sha[:12]} ("{subject}") upstream.')
        with self.assertRaisesRegex(RigError, 'is not in configs/upstream-commits.ini'):
            self.check(f'commit 0123456789ab ("{subject}") upstream.')

    def test_a_fixes_tag_without_an_id_is_refused(self):
        with self.assertRaisesRegex(RigError, 'not of the form'):
            self.check(f'Fixes: ("{DEFER}")')

    def test_a_subject_with_no_known_id_is_refused(self):
        with self.assertRaisesRegex(RigError, 'commit id is not known'):
            self.check('Fixes: 0123456789ab ("drm/xe: something else")')

    def test_an_id_that_is_not_the_listed_one_is_refused(self):
        with self.assertRaisesRegex(RigError, 'but configs/upstream-commits.ini has'):
            self.check(f'Fixes: 0123456789ab ("{DEFER}")')

    def test_the_listed_id_passes(self):
        self.check(f'Fixes: {self.commits[DEFER].sha[:12]} ("{DEFER}")')

    def test_every_entry_says_where_it_was_found(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        path = os.path.join(tmp, 'c.ini')
        with open(path, 'w') as f:
            f.write(f'[{DEFER}]\ncommit = {"a" * 40}\nauthor = x\n')
        with self.assertRaisesRegex(RigError, 'where its id was found'):
            upstream.load_commits(path)


class Mainline(unittest.TestCase):
    """--mainline DIR: each listed id is that subject's commit in the clone."""

    def setUp(self):
        self.clone = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.clone)
        git = ['git', '-C', self.clone, '-c', 'user.name=t', '-c', 'user.email=t@t']
        subprocess.run(['git', 'init', '-q', self.clone], check=True)
        subprocess.run([*git, 'commit', '-q', '--allow-empty', '-m', DEFER], check=True)
        self.sha = subprocess.run([*git, 'rev-parse', 'HEAD'], check=True, text=True,
                                  capture_output=True).stdout.strip()

    def test_the_listed_id_is_found(self):
        upstream.check_mainline({DEFER: upstream.Commit(DEFER, self.sha, '', 'x')},
                                self.clone)

    def test_a_wrong_id_names_where_the_subject_is(self):
        wrong = {DEFER: upstream.Commit(DEFER, 'f' * 40, '', 'x')}
        with self.assertRaisesRegex(RigError, f'the subject is at {self.sha}'):
            upstream.check_mainline(wrong, self.clone)

    def test_not_a_clone_is_refused(self):
        empty = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, empty)
        with self.assertRaisesRegex(RigError, 'is not a git clone'):
            upstream.check_mainline({}, empty)


class Sender(unittest.TestCase):
    def git_env(self, tmp, identity):
        env = dict(os.environ, HOME=tmp, GIT_CONFIG_NOSYSTEM='1',
                   GIT_CONFIG_GLOBAL=os.path.join(tmp, 'gitconfig'))
        with open(env['GIT_CONFIG_GLOBAL'], 'w') as f:
            if identity:
                f.write('[user]\n\tname = A Sender\n\temail = a@example.com\n')
        return env

    def run_rig(self, identity):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        repo = os.path.join(tmp, 'repo')
        subprocess.run(['git', 'init', '-q', repo], check=True)
        # A checkout without an identity of its own: the user's global one.
        return subprocess.run(
            ['python3', '-c', 'import sys; from riglib import upstream; '
             'print("%s <%s>" % upstream.sender(sys.argv[1]))', repo],
            cwd=os.path.join(REPO, 'scripts'), env=self.git_env(tmp, identity),
            text=True, capture_output=True)

    def test_no_identity_is_refused_with_what_to_set(self):
        res = self.run_rig(identity=False)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn('no sender identity', res.stderr)
        self.assertIn('git config --global user.email', res.stderr)

    def test_the_configured_identity_signs(self):
        res = self.run_rig(identity=True)
        self.assertEqual(res.stdout.strip(), 'A Sender <a@example.com>', res.stderr)

    def test_the_command_refuses_before_taking_the_cache(self):
        tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, tmp)
        env = self.git_env(tmp, identity=False)
        env['RIG_CACHE'] = os.path.join(tmp, 'cache')
        res = subprocess.run([os.path.join(REPO, 'scripts', 'rig'), 'format-upstream',
                              'nosuch', '-o', os.path.join(tmp, 'out')],
                             env=env, text=True, capture_output=True)
        self.assertNotEqual(res.returncode, 0)
        self.assertIn('unknown set nosuch; known: rfc, upstream-fixes', res.stderr)
        self.assertFalse(os.path.exists(env['RIG_CACHE']))


if __name__ == '__main__':
    unittest.main()
