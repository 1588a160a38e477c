"""rig setup/export on a miniature kernel tree given with --kernel."""

import os
import shutil
import signal
import tempfile
import time
import unittest

from riglib import kunitrun, mutants, profiles, sides, tree
from riglib.util import REPO, RigError
from tests.gitpatch import make_patch, sh

NOTIFIER = ''.join(f'line {i}\n' for i in range(1, 40))


def read(path):
    with open(path) as f:
        return f.read()



class Definition:
    """A configs/bases.ini entry for a tree given with --kernel."""
    name = 'mini'
    fragments = []
    series = None
    hooks = []


class MiniTree(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='rig-test-')
        self.kernel = os.path.join(self.tmp, 'kernel')
        for d in ('mm', 'lib'):
            os.makedirs(os.path.join(self.kernel, d))
        files = {'Makefile': 'VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 99\nEXTRAVERSION = -t\n',
                 'mm/mmu_notifier.c': NOTIFIER, 'lib/Kconfig.debug': 'menu "x"\nendmenu\n',
                 'lib/Makefile': 'obj-y += a.o\n', '.gitignore': '/*\n!/debian/\n'}
        for path, text in files.items():
            with open(os.path.join(self.kernel, path), 'w') as f:
                f.write(text)
        self.patches = os.path.join(self.tmp, 'patches')
        os.makedirs(self.patches)
        self.saved = (tree.BACKPORT_SERIES, os.environ.get('RIG_CACHE'))
        tree.BACKPORT_SERIES = os.path.join(self.patches, 'series')
        os.environ['RIG_CACHE'] = os.path.join(self.tmp, 'cache')
        self.write_series({'0001-a.patch': make_patch(
            self.tmp, 'a', NOTIFIER, NOTIFIER.replace('line 5\n', 'line five\n'), 'a')})

    def tearDown(self):
        tree.BACKPORT_SERIES = self.saved[0]
        if self.saved[1] is None:
            del os.environ['RIG_CACHE']
        else:
            os.environ['RIG_CACHE'] = self.saved[1]
        shutil.rmtree(self.tmp)

    def write_series(self, patches):
        for name in os.listdir(self.patches):
            os.unlink(os.path.join(self.patches, name))
        for name, text in patches.items():
            with open(os.path.join(self.patches, name), 'w') as f:
                f.write(text)
        with open(os.path.join(self.patches, 'series'), 'w') as f:
            f.write(''.join(n + '\n' for n in patches))

    def base(self, kernel=None, hooks=()):
        definition = Definition()
        definition.hooks = list(hooks)
        return tree.Base(definition, kernel or self.kernel)

    def setup(self, kernel=None):
        return tree.setup(self.base(kernel), quiet=True)

    def tree_file(self, base, path='mm/mmu_notifier.c'):
        return read(os.path.join(base.tree, path))

    def test_setup_applies_series_and_leaves_the_base_alone(self):
        before = sh(self.tmp, 'find', 'kernel', '-type', 'f', '-newer', 'kernel/Makefile')
        base = self.setup()
        self.assertIn('line five', self.tree_file(base))
        self.assertNotIn('line five', read(os.path.join(self.kernel, 'mm/mmu_notifier.c')))
        self.assertFalse(os.path.exists(os.path.join(self.kernel, '.git')))
        self.assertEqual(before, sh(self.tmp, 'find', 'kernel', '-type', 'f', '-newer',
                                    'kernel/Makefile'))
        log = sh(base.tree, 'git', 'log', '--format=%s')
        self.assertIn(tree.WIRING_SUBJECT, log)
        self.assertIn('source "lib/two-pass-rig/Kconfig"', self.tree_file(base, 'lib/Kconfig.debug'))
        staged = os.path.join(base.tree, 'lib/two-pass-rig/kunit')
        self.assertFalse(os.path.islink(staged))
        self.assertEqual(read(os.path.join(staged, 'Kconfig')),
                         read(os.path.join(REPO, 'kunit', 'Kconfig')))
        # Debian's "ignore everything" rule is gone, so new files show up.
        self.assertNotIn('/*', self.tree_file(base, '.gitignore'))
        self.assertEqual(sh(base.tree, 'git', 'status', '--porcelain'), '')

    def test_staging_copies_by_content_and_a_rewritten_copy_is_newer(self):
        base = self.setup()
        rig = os.path.join(base.tree, tree.RIG_SUBDIR)
        kconfig = os.path.join(rig, 'kunit', 'Kconfig')
        old = time.time() - 3600
        os.utime(kconfig, (old, old))
        # Unchanged content: not rewritten, mtime kept (its object stays).
        self.assertEqual(tree.stage_repo_sources(base.tree), 0)
        self.assertEqual(os.stat(kconfig).st_mtime, old)
        # Changed content (a mutant, an edit in the tree): the checkout's
        # content comes back with a fresh mtime, even though the checkout's
        # file is older than the copy was.
        with open(kconfig, 'a') as f:
            f.write('# changed\n')
        os.utime(kconfig, (old + 10, old + 10))
        before = time.time()
        self.assertEqual(tree.stage_repo_sources(base.tree), 1)
        self.assertEqual(read(kconfig), read(os.path.join(REPO, 'kunit', 'Kconfig')))
        self.assertGreaterEqual(os.stat(kconfig).st_mtime, before - 1)
        # A file the checkout does not have goes; an older rig's symlink
        # into the checkout becomes a copy.
        stray = os.path.join(rig, 'fake-gpu', 'stray.c')
        with open(stray, 'w') as f:
            f.write('x\n')
        shutil.rmtree(os.path.join(rig, 'kunit'))
        os.symlink(os.path.join(REPO, 'kunit'), os.path.join(rig, 'kunit'))
        tree.stage_repo_sources(base.tree)
        self.assertFalse(os.path.exists(stray))
        self.assertFalse(os.path.islink(os.path.join(rig, 'kunit')))
        self.assertEqual(sh(base.tree, 'git', 'status', '--porcelain'), '')

    def test_a_temporary_patch_is_reverted_even_after_a_kill(self):
        base = self.setup()
        patch = os.path.join(self.tmp, 'm.patch')
        with open(patch, 'w') as f:
            f.write(make_patch(self.tmp, 'm', NOTIFIER.replace('line 5\n', 'line five\n'),
                               NOTIFIER.replace('line 5\n', 'line MUTANT\n'), 'm'))
        with tree.temporary_patch(base.tree, patch):
            self.assertIn('line MUTANT', self.tree_file(base))
        self.assertNotIn('line MUTANT', self.tree_file(base))
        self.assertEqual(sh(base.tree, 'git', 'status', '--porcelain'), '')
        # Killed inside the block: nothing reverts it then, the next setup does.
        ctx = tree.temporary_patch(base.tree, patch)
        ctx.__enter__()
        self.assertIn('line MUTANT', self.tree_file(base))
        self.setup()
        self.assertNotIn('line MUTANT', self.tree_file(base))
        self.assertEqual(sh(base.tree, 'git', 'status', '--porcelain'), '')

    def test_a_patch_that_does_not_apply_leaves_nothing(self):
        base = self.setup()
        patch = os.path.join(self.tmp, 'm.patch')
        with open(patch, 'w') as f:
            f.write(make_patch(self.tmp, 'm', NOTIFIER, NOTIFIER.replace('line 7\n', 'x\n'),
                               'm').replace('line 6', 'line six'))
        with self.assertRaisesRegex(RigError, 'm.patch does not apply'):
            with tree.temporary_patch(base.tree, patch):
                pass
        self.assertEqual(sh(base.tree, 'git', 'status', '--porcelain'), '')

    def test_a_mutants_run_killed_mid_mutant_leaves_the_checkout_alone(self):
        """SIGKILL while a fake-GPU mutant is being built (a CI timeout, the
        OOM killer): the checkout is untouched, and the next setup takes the
        mutant out of the tree's staged copy."""
        base = self.setup()
        name = 'fake-gpu/bind-no-read-retry'
        m = mutants.parse(mutants.select(base.definition, [name])[0])
        rel = m.files[0]
        checkout_file = os.path.join(REPO, rel)
        staged = os.path.join(base.tree, tree.RIG_SUBDIR, rel)
        before = (read(checkout_file), sh(REPO, 'git', 'status', '--porcelain'))
        building = os.path.join(self.tmp, 'building')
        pid = os.fork()
        if pid == 0:    # the rig: stopped for good inside the mutant's build
            try:
                def build(*args, **kwargs):
                    with open(building, 'w') as f:
                        f.write('x')
                    time.sleep(120)
                kunitrun.run_profile = build
                mutants.run_mutants(base, profiles.select(['fast'])[0], '6.12.99', 1,
                                    names=[name])
            finally:
                os._exit(1)
        deadline = time.monotonic() + 60
        while not os.path.exists(building) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        self.assertTrue(os.path.exists(building), 'the mutant was never built')
        self.assertNotEqual(read(staged), read(checkout_file), 'the mutant was not applied')
        self.assertEqual((read(checkout_file), sh(REPO, 'git', 'status', '--porcelain')),
                         before)
        self.setup()
        self.assertEqual(read(staged), read(checkout_file))
        self.assertEqual(sh(base.tree, 'git', 'status', '--porcelain'), '')

    def test_rerun_unchanged_is_a_fast_no_op(self):
        base = self.setup()
        head = sh(base.tree, 'git', 'rev-parse', 'HEAD')
        t0 = time.monotonic()
        self.setup()
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(head, sh(base.tree, 'git', 'rev-parse', 'HEAD'))

    def test_changed_patch_is_reapplied_from_pristine(self):
        base = self.setup()
        self.write_series({'0001-b.patch': make_patch(
            self.tmp, 'b', NOTIFIER, NOTIFIER.replace('line 9\n', 'line nine\n'), 'b')})
        self.setup()
        text = self.tree_file(base)
        self.assertIn('line nine', text)
        self.assertNotIn('line five', text)

    def test_uncommitted_edits_are_never_thrown_away(self):
        base = self.setup()
        with open(os.path.join(base.tree, 'mm/mmu_notifier.c'), 'a') as f:
            f.write('my edit\n')
        self.write_series({'0001-b.patch': make_patch(
            self.tmp, 'b', NOTIFIER, NOTIFIER.replace('line 9\n', 'line nine\n'), 'b')})
        with self.assertRaisesRegex(RigError, 'uncommitted edits'):
            self.setup()
        self.assertIn('my edit', self.tree_file(base))

    def test_patch_that_does_not_apply_names_patch_file_and_hunk(self):
        base = self.setup()
        head = sh(base.tree, 'git', 'rev-parse', 'HEAD')
        other = NOTIFIER.replace('line 20\n', 'something else\n')
        bad = make_patch(self.tmp, 'bad', other, other.replace('line 21\n', 'x\n'), 'bad')
        self.write_series({'0001-bad.patch': bad})
        with self.assertRaises(RigError) as err:
            self.setup()
        msg = str(err.exception)
        self.assertIn('0001-bad.patch', msg)
        self.assertIn('mm/mmu_notifier.c', msg)
        self.assertRegex(msg, r'hunk "@@ -\d+,\d+ \+\d+,\d+ @@')
        # The cache is still usable: the old series is checked out, no am in progress.
        self.assertEqual(head, sh(base.tree, 'git', 'rev-parse', 'HEAD'))
        self.assertFalse(os.path.exists(os.path.join(base.tree, '.git', 'rebase-apply')))
        self.assertIn('line five', self.tree_file(base))

    def hook(self, name, old, new, tag='1'):
        path = os.path.join(self.tmp, name)
        with open(path, 'w') as f:
            f.write(make_patch(self.tmp, f'hook-{name}-{tag}', old, new, name))
        return path

    def test_hooks_are_in_the_wiring_commit_and_never_exported(self):
        hook = self.hook('stub.patch', NOTIFIER, NOTIFIER.replace('line 30\n', 'stub\n'))
        base = tree.setup(self.base(hooks=[hook]), quiet=True)
        self.assertIn('stub', self.tree_file(base))
        self.assertIn('line five', self.tree_file(base))
        self.assertEqual(sh(base.tree, 'git', 'status', '--porcelain'), '')
        wiring = sh(base.tree, 'git', 'show', '--stat', '--format=%s', 'HEAD')
        self.assertIn(tree.WIRING_SUBJECT, wiring)
        self.assertIn('mm/mmu_notifier.c', wiring)
        tree.export(base)
        exported = ''.join(read(os.path.join(self.patches, n))
                           for n in os.listdir(self.patches) if n.endswith('.patch'))
        self.assertIn('line five', exported)
        self.assertNotIn('stub', exported)

    def test_a_patch_without_author_applies_and_exports_without_one(self):
        """The rig's own patches carry no identity: the sender's is given at
        format-upstream time, never a made-up one stored in the repo."""
        text = make_patch(self.tmp, 'anon', NOTIFIER, NOTIFIER.replace('line 7\n', 'seven\n'),
                          'anon: change line 7')
        anonymous = text.replace('From: t <t@t>\n', '')
        self.assertFalse(tree.has_author(anonymous))
        self.write_series({'0001-anon.patch': anonymous})
        base = self.setup()
        self.assertEqual(sh(base.tree, 'git', 'log', '-1', '--format=%ae', 'HEAD~'),
                         tree.IDENTITY_EMAIL + '\n')
        tree.export(base)
        exported = read(os.path.join(self.patches, '0001-anon-change-line-7.patch'))
        self.assertFalse(tree.has_author(exported))
        self.assertIn('Subject: [PATCH] anon: change line 7', exported)
        self.assertIn('+seven', exported)

    def test_export_keeps_another_directorys_patches_as_prerequisites(self):
        """upstream-rfc's series starts with ../upstream-fixes/ entries: export
        writes only its own commits and keeps those lines."""
        fixes = os.path.join(self.tmp, 'fixes')
        os.makedirs(fixes)
        one = NOTIFIER.replace('line 5\n', 'line five\n')
        with open(os.path.join(fixes, '0001-fix.patch'), 'w') as f:
            f.write(make_patch(self.tmp, 'fix', NOTIFIER, one, 'fix: line 5'))
        own = make_patch(self.tmp, 'rfc', one, one.replace('line 9\n', 'nine\n'), 'rfc: line 9')
        with open(os.path.join(self.patches, '0001-rfc.patch'), 'w') as f:
            f.write(own)
        series = os.path.join(self.patches, 'series')
        with open(series, 'w') as f:
            f.write('# comment\n../fixes/0001-fix.patch\n0001-rfc.patch\n')
        base = self.setup()
        tree.export(base)
        self.assertEqual(read(series), '# comment\n../fixes/0001-fix.patch\n'
                         '0001-rfc-line-9.patch\n')
        self.assertEqual(sorted(os.listdir(self.patches)), ['0001-rfc-line-9.patch', 'series'])
        self.assertIn('+nine', read(os.path.join(self.patches, '0001-rfc-line-9.patch')))
        self.assertIn('+line five', read(os.path.join(fixes, '0001-fix.patch')))

    def test_export_refuses_a_changed_prerequisite(self):
        """An edit of another directory's patch in this tree would be lost."""
        fixes = os.path.join(self.tmp, 'fixes')
        os.makedirs(fixes)
        one = NOTIFIER.replace('line 5\n', 'line five\n')
        with open(os.path.join(fixes, '0001-fix.patch'), 'w') as f:
            f.write(make_patch(self.tmp, 'fix', NOTIFIER, one, 'fix: line 5'))
        with open(os.path.join(self.patches, '0001-rfc.patch'), 'w') as f:
            f.write(make_patch(self.tmp, 'rfc', one, one.replace('line 9\n', 'nine\n'),
                               'rfc: line 9'))
        series = os.path.join(self.patches, 'series')
        with open(series, 'w') as f:
            f.write('../fixes/0001-fix.patch\n0001-rfc.patch\n')
        base = self.setup()
        first = sh(base.tree, 'git', 'rev-list', '--reverse', 'rig-pristine..HEAD').split()[0]
        sh(base.tree, 'git', '-c', 'user.name=d', '-c', 'user.email=d@d', 'checkout', '-q',
           first)
        with open(os.path.join(base.tree, 'mm/mmu_notifier.c'), 'a') as f:
            f.write('fixed differently\n')
        sh(base.tree, 'git', '-c', 'user.name=d', '-c', 'user.email=d@d', 'commit', '-qa',
           '--amend', '--no-edit')
        amended = sh(base.tree, 'git', 'rev-parse', 'HEAD').strip()
        sh(base.tree, 'git', '-c', 'user.name=d', '-c', 'user.email=d@d', 'rebase', '-q',
           '--onto', amended, first, 'rig')
        before = sorted(os.listdir(self.patches)), read(series)
        with self.assertRaisesRegex(RigError, 'is not .*0001-fix.patch any more'):
            tree.export(base)
        self.assertEqual((sorted(os.listdir(self.patches)), read(series)), before)

    def test_changed_hook_redoes_the_wiring(self):
        first = self.hook('a.patch', NOTIFIER, NOTIFIER.replace('line 30\n', 'one\n'))
        base = tree.setup(self.base(hooks=[first]), quiet=True)
        second = self.hook('a.patch', NOTIFIER, NOTIFIER.replace('line 30\n', 'two\n'), '2')
        tree.setup(self.base(hooks=[second]), quiet=True)
        self.assertIn('two', self.tree_file(base))
        self.assertNotIn('one\n', self.tree_file(base))

    def test_hook_that_does_not_apply_leaves_the_cache_as_it_was(self):
        base = self.setup()
        head = sh(base.tree, 'git', 'rev-parse', 'HEAD')
        other = NOTIFIER.replace('line 30\n', 'elsewhere\n')
        bad = self.hook('bad-hook.patch', other, other.replace('line 31\n', 'x\n'))
        with self.assertRaises(RigError) as err:
            tree.setup(self.base(hooks=[bad]), quiet=True)
        self.assertIn('test hook', str(err.exception))
        self.assertIn('bad-hook.patch', str(err.exception))
        self.assertIn('mm/mmu_notifier.c', str(err.exception))
        self.assertEqual(head, sh(base.tree, 'git', 'rev-parse', 'HEAD'))
        self.assertEqual(sh(base.tree, 'git', 'status', '--porcelain'), '')

    def test_missing_series_entry_is_an_error(self):
        with open(os.path.join(self.patches, 'series'), 'a') as f:
            f.write('0002-missing.patch\n')
        with self.assertRaisesRegex(RigError, '0002-missing.patch, which does not exist'):
            self.setup()

    def test_not_a_kernel_tree_is_an_error(self):
        with self.assertRaisesRegex(RigError, 'not a kernel source tree'):
            self.setup(self.tmp)

    def test_tree_with_the_two_pass_core_gets_no_series(self):
        os.makedirs(os.path.join(self.kernel, 'include', 'linux'))
        with open(os.path.join(self.kernel, 'include/linux/mmu_notifier.h'), 'w') as f:
            f.write('void (*invalidate_finish)(void);\n')
        base = self.setup()
        self.assertNotIn('line five', self.tree_file(base))
        log = sh(base.tree, 'git', 'log', '--format=%s').splitlines()
        self.assertEqual(log[0], tree.WIRING_SUBJECT)
        self.assertEqual(len(log), 2)
        with self.assertRaisesRegex(RigError, 'no series to export'):
            tree.export(base)

    def test_export_writes_commits_without_the_wiring(self):
        base = self.setup()
        with open(os.path.join(base.tree, 'mm/mmu_notifier.c'), 'a') as f:
            f.write('developer line\n')
        sh(base.tree, 'git', '-c', 'user.name=d', '-c', 'user.email=d@d', 'commit',
           '-qam', 'mm: developer change')
        tree.export(self.base())
        with open(os.path.join(self.patches, 'series')) as f:
            series = f.read().split()
        self.assertEqual(len(series), 2)
        self.assertTrue(series[1].startswith('0002-mm-developer-change'))
        text = ''.join(read(os.path.join(self.patches, p)) for p in series)
        self.assertNotIn('two-pass-rig', text)
        # The exported series is what the tree holds: no re-apply.
        head = sh(base.tree, 'git', 'rev-parse', 'HEAD')
        self.setup()
        self.assertEqual(head, sh(base.tree, 'git', 'rev-parse', 'HEAD'))

    def test_exported_blank_context_lines_carry_no_trailing_space(self):
        base = self.setup()
        for text, msg in (('developer line\n\n', 'mm: blank'), ('after it\n', 'mm: after')):
            with open(os.path.join(base.tree, 'mm/mmu_notifier.c'), 'a') as f:
                f.write(text)
            sh(base.tree, 'git', '-c', 'user.name=d', '-c', 'user.email=d@d', 'commit',
               '-qam', msg)
        tree.export(self.base())
        last = os.path.join(self.patches, sorted(os.listdir(self.patches))[-2])
        lines = read(last).splitlines()
        # checkpatch on a git-tracked patch file reads " " as trailing whitespace.
        self.assertEqual([ln for ln in lines if ln.endswith(' ')], [])
        self.assertIn('', lines[lines.index('+after it') - 2:lines.index('+after it')])
        # git still reads the empty line as blank context.
        sh(base.tree, 'git', 'apply', '--check', '-R', last)

    # riglib.sides: a wired worktree per side, left alone when current.

    def test_each_side_is_a_wired_worktree_at_its_commit(self):
        base = self.setup()
        wts = {side: sides.worktree(base, side) for side in sides.SIDES}
        self.assertEqual(len(set(wts.values()) | {base.tree}), 3)
        self.assertNotIn('line five', read(os.path.join(wts['pristine'], 'mm/mmu_notifier.c')))
        self.assertIn('line five', read(os.path.join(wts['series'], 'mm/mmu_notifier.c')))
        for side, wt in wts.items():
            self.assertEqual(sh(wt, 'git', 'log', '-1', '--format=%s').strip(),
                             tree.WIRING_SUBJECT)
            self.assertEqual(sh(wt, 'git', 'rev-parse', 'HEAD~1').strip(),
                             sides.commit_of(base, side))
            self.assertTrue(os.path.isfile(os.path.join(wt, 'lib/two-pass-rig/kunit/Kconfig')))
            self.assertIn('source "lib/two-pass-rig/Kconfig"',
                          read(os.path.join(wt, 'lib/Kconfig.debug')))
            self.assertEqual(sh(wt, 'git', 'status', '--porcelain'), '')

    def test_a_current_side_is_not_touched(self):
        base = self.setup()
        wt = sides.worktree(base, 'series')
        path = os.path.join(wt, 'mm/mmu_notifier.c')
        os.utime(path, (1, 1))
        head = sh(wt, 'git', 'rev-parse', 'HEAD')
        self.assertEqual(sides.worktree(base, 'series'), wt)
        self.assertEqual(os.stat(path).st_mtime, 1)
        self.assertEqual(sh(wt, 'git', 'rev-parse', 'HEAD'), head)

    def test_a_side_follows_a_changed_series(self):
        base = self.setup()
        wt = sides.worktree(base, 'series')
        self.write_series({'0001-b.patch': make_patch(
            self.tmp, 'b', NOTIFIER, NOTIFIER.replace('line 9\n', 'line nine\n'), 'b')})
        self.setup()
        self.assertEqual(sides.worktree(base, 'series'), wt)
        text = read(os.path.join(wt, 'mm/mmu_notifier.c'))
        self.assertIn('line nine', text)
        self.assertNotIn('line five', text)

    def test_unknown_side_is_an_error(self):
        base = self.setup()
        with self.assertRaisesRegex(RigError, "unknown side 'middle'"):
            sides.worktree(base, 'middle')

    # sides.variant_worktree(): the pristine tree with patches of its own.

    def variant_patch(self, old, new):
        path = os.path.join(self.tmp, 'variant.patch')
        with open(path, 'w') as f:
            f.write('What this variant is, before the diff.\n\n' +
                    make_patch(self.tmp, 'variant', old, new, 'variant').split('\n---\n', 1)[1])
        return path

    def test_a_variant_is_the_pristine_tree_with_its_patches(self):
        base = self.setup()
        patch = self.variant_patch(NOTIFIER, NOTIFIER.replace('line 20\n', 'line twenty\n'))
        wt = sides.variant_worktree(base, 'before', [patch])
        self.assertEqual(wt, base.tree.rstrip('/') + '-before')
        text = read(os.path.join(wt, 'mm/mmu_notifier.c'))
        self.assertIn('line twenty', text)
        self.assertNotIn('line five', text)     # the base's series is not in it
        self.assertEqual(sh(wt, 'git', 'log', '-1', '--format=%s').strip(), tree.WIRING_SUBJECT)
        self.assertEqual(sh(wt, 'git', 'rev-parse', 'HEAD~2').strip(),
                         sh(base.tree, 'git', 'rev-parse', 'rig-pristine').strip())
        self.assertEqual(sh(wt, 'git', 'status', '--porcelain'), '')
        # Current: left alone, its files' times too.
        os.utime(os.path.join(wt, 'mm/mmu_notifier.c'), (1, 1))
        self.assertEqual(sides.variant_worktree(base, 'before', [patch]), wt)
        self.assertEqual(os.stat(os.path.join(wt, 'mm/mmu_notifier.c')).st_mtime, 1)
        # A reworded message changes nothing either.
        with open(patch) as f:
            text = f.read()
        with open(patch, 'w') as f:
            f.write('Said otherwise.\n\n' + text[text.index('diff --git'):])
        self.assertEqual(sides.variant_worktree(base, 'before', [patch]), wt)
        self.assertEqual(os.stat(os.path.join(wt, 'mm/mmu_notifier.c')).st_mtime, 1)
        with self.assertRaisesRegex(RigError, "'series' is a side of the base"):
            sides.variant_worktree(base, 'series', [patch])
        # Without patches: the pristine tree, wired.
        self.assertNotIn('line twenty', read(os.path.join(
            sides.variant_worktree(base, 'before', []), 'mm/mmu_notifier.c')))

    def test_a_variant_patch_that_does_not_apply_is_an_error(self):
        base = self.setup()
        patch = self.variant_patch(NOTIFIER.replace('line 20\n', 'other\n'),
                                   NOTIFIER.replace('line 20\n', 'line twenty\n'))
        with self.assertRaisesRegex(RigError, 'variant.patch does not apply to the mini base'):
            sides.variant_worktree(base, 'before', [patch])
        wt = base.tree.rstrip('/') + '-before'
        self.assertEqual(sh(wt, 'git', 'status', '--porcelain'), '')
        # Not recorded as built: the next call tries again.
        with self.assertRaisesRegex(RigError, 'does not apply'):
            sides.variant_worktree(base, 'before', [patch])


if __name__ == '__main__':
    unittest.main()
