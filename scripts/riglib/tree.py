"""The rig's kernel tree: a git copy of the base with the series applied.

Layout of a cached tree (a git repository of its own):

  tag rig-pristine   the base as unpacked or cloned, one commit
  branch rig         rig-pristine + the base's series (git am)
                     + one wiring commit hooking lib/two-pass-rig/ into
                     lib/Kconfig.debug and lib/Makefile
  lib/two-pass-rig/  untracked (excluded): Kconfig, Makefile and copies of
                     the repo's kunit/ and fake-gpu/, staged by setup
  STAGED_FILES       untracked (excluded) copies of single repo files that
                     live in a driver's own tests/ directory (xe-tests/)

The rig never writes to the checkout: setup copies its sources into the
tree (stage_repo_sources()), and mutants patch those copies. A copy is
rewritten only when its content differs from the checkout's, so an
unchanged file keeps its mtime and its object, and a rewritten one gets
the current time, newer than any object built before, whatever the mtime
of its source.

The wiring commit also carries the base's test hooks (bases.ini "hooks"):
KUNIT_STATIC_STUB_REDIRECT() lines and the #include of a linked test file.

The state of the last setup is kept in .git/rig-state.json. A base given
with --kernel is cloned or copied, never modified.

Each base of configs/bases.ini has its own tree, keyed by its package and
version; its tarball is fetched once (riglib.debsrc) into the cache.
"""

import contextlib
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from typing import Any, Iterator, Sequence

from . import bases, debsrc, diffs, lock
from .util import REPO, RigError, cache_dir, git, info, run

# The backport series, applied to a --kernel tree without the two-pass core.
BACKPORT_SERIES = os.path.join(REPO, 'kernel-patches', 'series')
# Repo directories staged into the tree, in Kconfig order.
STAGED_DIRS = ['kunit', 'fake-gpu']
RIG_SUBDIR = 'lib/two-pass-rig'
# Tree path -> repo path: tests that a driver includes from its tests/.
STAGED_FILES = {
    'drivers/gpu/drm/xe/tests/xe_userptr_test.c': 'xe-tests/xe_userptr_test.c',
    'drivers/gpu/drm/xe/tests/xe_svm_test.c': 'xe-tests/xe_svm_test.c',
    # Included by xe_userptr_test.c, in the bench profile.
    'drivers/gpu/drm/xe/tests/xe_userptr_bench.c': 'xe-tests/xe_userptr_bench.c',
    'drivers/gpu/drm/xe/tests/bench_report.h': 'kunit/bench_report.h',
    # The one header of compatibility shims, for the userptr test.
    'drivers/gpu/drm/xe/tests/rig_compat.h': 'fake-gpu/rig_compat.h',
}
WIRING_SUBJECT = 'rig: hook lib/two-pass-rig into Kbuild [not for export]'
# The committer of the cached tree's commits, and the author of the rig's own
# patches there: they are stored without one (authorship is the sender's,
# given at "rig format-upstream"), and "rig export" leaves it out again.
IDENTITY_NAME, IDENTITY_EMAIL = 'two-pass rig', 'rig@localhost'


def identity_args(name: str, email: str) -> list[str]:
    """git options making @name <@email> the author and committer."""
    return ['-c', f'user.name={name}', '-c', f'user.email={email}']


IDENTITY = identity_args(IDENTITY_NAME, IDENTITY_EMAIL)


def has_two_pass_core(src: str) -> bool:
    """Whether the kernel tree @src already has invalidate_start/_finish."""
    try:
        with open(os.path.join(src, 'include', 'linux', 'mmu_notifier.h')) as f:
            return 'invalidate_finish' in f.read()
    except OSError:
        return False


class Base:
    """Where the pristine tree comes from and where its copy lives.

    @definition is the configs/bases.ini entry (a bases.BaseDef): its
    fragments and test steps apply to a --kernel tree as well. The series
    of a --kernel tree is none if it has the two-pass core, else the
    backport.
    """

    def __init__(self, definition: 'bases.BaseDef', kernel_dir: str | None = None) -> None:
        self.definition = definition
        self.name = definition.name
        kernel_dir = kernel_dir or os.environ.get('RIG_KERNEL')
        if kernel_dir:
            src = os.path.realpath(kernel_dir)
            if not os.path.isfile(os.path.join(src, 'Makefile')) or \
               not os.path.isfile(os.path.join(src, 'mm', 'mmu_notifier.c')):
                raise RigError(f'--kernel {kernel_dir}: not a kernel source tree '
                               '(no Makefile or mm/mmu_notifier.c)')
            self.source = src
            self.package: debsrc.Package | None = None
            self.key = 'custom-' + hashlib.sha1(src.encode()).hexdigest()[:12]
            self.series: str | None = None if has_two_pass_core(src) else BACKPORT_SERIES
        else:
            pkg = definition.package
            self.package = pkg
            source_key = re.sub(r'[^\w.+-]', '_', f'debian-{pkg.name}-{pkg.version}')
            self.source = os.path.join(cache_dir(), 'sources', source_key,
                                       os.path.basename(pkg.member))
            # Trees and builds per series: a base sharing another's package
            # would otherwise re-apply its series over that one's tree.
            self.key = source_key + (f'-{definition.name}' if definition.variant_of
                                     else '')
            self.series = definition.series
        self.tree = os.path.join(cache_dir(), 'trees', self.key)
        # Test hooks of the wiring commit: the base's, on a --kernel tree too.
        self.hooks = definition.hooks

    @property
    def package_version(self) -> str | None:
        return self.package.version if self.package else None

    def result_fields(self) -> dict[str, Any]:
        """The base and the checkout, as every summary.json names them."""
        return {'base': self.name,
                'package': self.package.name if self.package else None,
                'package_version': self.package_version,
                'kernel_tree': None if self.package else self.source,
                **lock.checkout_fields()}

    def describe(self) -> str:
        """What results name: base, package and version, or the --kernel tree."""
        if self.package:
            return f'{self.name}: {self.package.name} {self.package.version}'
        return f'{self.name} fragments on --kernel {self.source}'

    @property
    def state_file(self) -> str:
        return os.path.join(self.tree, '.git', 'rig-state.json')

    def load_state(self) -> dict[str, Any] | None:
        try:
            with open(self.state_file) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def save_state(self, state: dict[str, Any]) -> None:
        with open(self.state_file, 'w') as f:
            json.dump(state, f, indent=1)


def kernel_version(tree: str) -> str:
    vals: dict[str, str] = {}
    with open(os.path.join(tree, 'Makefile')) as f:
        for line in f:
            m = re.match(r'^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*)', line)
            if m:
                vals[m.group(1)] = m.group(2)
            if len(vals) == 4:
                break
    return '{VERSION}.{PATCHLEVEL}.{SUBLEVEL}{EXTRAVERSION}'.format(**vals)


def series_files(series: str | None) -> list[str]:
    """The patch files named by the series file @series, in order.

    @series None is the empty series.
    """
    if series is None:
        return []
    if not os.path.isfile(series):
        raise RigError(f'{series} is missing')
    pdir = os.path.dirname(series)
    names = []
    with open(series) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            path = os.path.join(pdir, line)
            if not os.path.isfile(path):
                raise RigError(f'{os.path.relpath(series, REPO)} names {line}, '
                               'which does not exist')
            names.append(path)
    return names


def split_series(series: str) -> tuple[list[str], list[str]]:
    """(prerequisites, own patches) of @series: the prerequisites are the
    leading patches that live in another directory, another series' that
    this one applies first (upstream-rfc's starts with the fixes of
    upstream-fixes/); one after the series' own patches is an error.
    """
    pdir = os.path.normpath(os.path.dirname(series))
    patches = series_files(series)
    own = [os.path.dirname(os.path.normpath(p)) == pdir for p in patches]
    first_own = own.index(True) if True in own else len(own)
    if not all(own[first_own:]):
        raise RigError(f'{os.path.relpath(series, REPO)}: a patch of another '
                       'directory after this one\'s own')
    return patches[:first_own], patches[first_own:]


def series_hash(patches: list[str]) -> str:
    h = hashlib.sha256()
    for p in patches:
        h.update(os.path.basename(p).encode() + b'\0')
        with open(p, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


# --- creating the pristine tree ---------------------------------------------

def _unpack_tarball(tarball: str, dest: str) -> None:
    tmp = dest + '.unpack'
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    info(f'unpacking {tarball}')
    run(['tar', '-xf', tarball, '-C', tmp])
    tops = os.listdir(tmp)
    if len(tops) != 1:
        raise RigError(f'{tarball}: expected one top-level directory, found {tops}')
    os.rename(os.path.join(tmp, tops[0]), dest)
    os.rmdir(tmp)


def _create_tree(base: Base) -> str:
    os.makedirs(os.path.dirname(base.tree), exist_ok=True)
    tmp = base.tree + '.new'
    shutil.rmtree(tmp, ignore_errors=True)
    if base.package:
        debsrc.fetch(base.package, base.source)
        _unpack_tarball(base.source, tmp)
        origin = f'Debian {base.package.label}, {os.path.basename(base.source)}'
    elif os.path.isdir(os.path.join(base.source, '.git')):
        info(f'cloning {base.source} (the original is not modified)')
        if git(base.source, 'status', '--porcelain', '--untracked-files=no'):
            info(f'note: {base.source} has uncommitted changes; only its HEAD is used')
        run(['git', 'clone', '--quiet', base.source, tmp])
        origin = f'{base.source} at {git(base.source, "rev-parse", "HEAD")}'
    else:
        info(f'copying {base.source} (the original is not modified)')
        shutil.copytree(base.source, tmp, symlinks=True)
        origin = base.source
    if not os.path.isdir(os.path.join(tmp, '.git')):
        _make_pristine_repo(tmp, origin)
    run(['git', '-C', tmp, *IDENTITY, 'tag', '-f', 'rig-pristine', 'HEAD'], capture=True)
    os.rename(tmp, base.tree)
    return origin


def _make_pristine_repo(tree: str, origin: str) -> None:
    # Debian's tarball ignores everything at the top level ("/*", for its
    # packaging); with that rule new files under mm/ or lib/ would stay
    # untracked, so the pristine commit drops it.
    gi = os.path.join(tree, '.gitignore')
    if os.path.isfile(gi):
        with open(gi) as f:
            lines = f.read().splitlines(keepends=True)
        kept = [ln for ln in lines if ln.strip() not in ('/*', '!/debian/')]
        if kept != lines:
            with open(gi, 'w') as f:
                f.writelines(kept)
    info('creating the pristine commit (about a minute)')
    run(['git', 'init', '-q', '-b', 'pristine', tree])
    run(['git', '-C', tree, 'add', '-A', '-f', '.'])
    run(['git', '-C', tree, *IDENTITY, 'commit', '-q', '-m',
         f'Pristine base: {kernel_version(tree)}\n\nFrom {origin}.'])


# --- wiring the repo's suites into the tree ----------------------------------

def _write_if_changed(path: str, text: str) -> None:
    try:
        with open(path) as f:
            if f.read() == text:
                return
    except OSError:
        pass
    with open(path, 'w') as f:
        f.write(text)


def _stage_file(src: str, dst: str) -> bool:
    """Make @dst a copy of @src unless it already has its content; whether
    it was written.

    A rewritten copy is a new file (written beside it, then renamed over
    it): its mtime is now, so make rebuilds its object even when @src is
    older than that object, and a hard link or symlink left at @dst by an
    older rig is replaced rather than written through.
    """
    try:
        with open(src, 'rb') as f:
            data = f.read()
    except OSError as err:
        raise RigError(f'cannot stage {os.path.relpath(src, REPO)}: {err.strerror}') from err
    if not os.path.islink(dst):
        try:
            with open(dst, 'rb') as f:
                if f.read() == data:
                    return False
        except OSError:
            pass
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = dst + '.rig-new'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.chmod(tmp, os.stat(src).st_mode & 0o777)
    if os.path.isdir(dst) and not os.path.islink(dst):
        shutil.rmtree(dst)
    os.replace(tmp, dst)
    return True


def _stage_dir(src: str, dst: str) -> int:
    """Mirror the files of @src into @dst (_stage_file() each); remove what
    @src does not have. The number of files written or removed."""
    if os.path.islink(dst):
        os.unlink(dst)      # an older rig's symlink into the checkout
    want = set()
    changed = 0
    for root, dirs, files in os.walk(src):
        dirs[:] = [d for d in dirs if d != '__pycache__']
        for name in files:
            rel = os.path.relpath(os.path.join(root, name), src)
            want.add(rel)
            changed += _stage_file(os.path.join(src, rel), os.path.join(dst, rel))
    for root, dirs, files in os.walk(dst, topdown=False):
        for name in files:
            # A copy a killed setup left half-written goes too.
            path = os.path.join(root, name)
            if os.path.relpath(path, dst) not in want:
                os.unlink(path)
                changed += 1
        if root != dst and not os.listdir(root):
            os.rmdir(root)
    return changed


def stage_repo_sources(tree: str) -> int:
    """(Re)create lib/two-pass-rig/ and the STAGED_FILES in @tree from the
    checkout, by content; the number of files written or removed."""
    rig = os.path.join(tree, RIG_SUBDIR)
    os.makedirs(rig, exist_ok=True)
    kconfig = ['# Generated by scripts/rig setup: the rig\'s suites, copied from\n',
               f'# {REPO}\n']
    makefile = ['# SPDX-License-Identifier: GPL-2.0\n',
                '# Generated by scripts/rig setup.\n']
    changed = 0
    for name in STAGED_DIRS:
        src = os.path.join(REPO, name)
        dst = os.path.join(rig, name)
        if not os.path.isfile(os.path.join(src, 'Kconfig')):
            if os.path.islink(dst):
                os.unlink(dst)
            elif os.path.isdir(dst):
                shutil.rmtree(dst)
            continue
        changed += _stage_dir(src, dst)
        kconfig.append(f'source "{RIG_SUBDIR}/{name}/Kconfig"\n')
        makefile.append(f'obj-y += {name}/\n')
    _write_if_changed(os.path.join(rig, 'Kconfig'), ''.join(kconfig))
    _write_if_changed(os.path.join(rig, 'Makefile'), ''.join(makefile))
    for rel, src in STAGED_FILES.items():
        dst = os.path.join(tree, rel)
        if not os.path.isdir(os.path.dirname(dst)):
            continue    # a tree without that driver
        changed += _stage_file(os.path.join(REPO, src), dst)
        if os.path.exists(dst + '.rig-new'):
            os.unlink(dst + '.rig-new')     # left by a killed setup
    # A worktree's .git is a file: ask git where the exclude file is.
    exclude = os.path.join(tree, git(tree, 'rev-parse', '--git-path', 'info/exclude'))
    os.makedirs(os.path.dirname(exclude), exist_ok=True)
    with open(exclude, 'a+') as f:
        f.seek(0)
        have = f.read().splitlines()
        for pattern in [f'/{RIG_SUBDIR}/'] + [f'/{rel}' for rel in STAGED_FILES]:
            if pattern not in have:
                f.write(pattern + '\n')
    return changed


# --- patches applied for one run (mutants) ----------------------------------

# In the tree's git directory while a temporary patch is applied: its text
# and where, so that setup can take it back out after a run that was killed
# before it could (SIGKILL, a CI timeout, the OOM killer).
TEMP_PATCH_STATE = 'rig-temporary-patch.json'


def _temp_patch_state(tree: str) -> str:
    return os.path.join(tree, git(tree, 'rev-parse', '--git-path', TEMP_PATCH_STATE))


def _git_apply(tree: str, text: str, directory: str, *opts: str) -> bool:
    cmd = ['git', '-C', tree, 'apply', *opts]
    if directory:
        cmd.append(f'--directory={directory}')
    return run(cmd + ['-'], check=False, capture=True, input=text).returncode == 0


@contextlib.contextmanager
def temporary_patch(tree: str, patch: str, directory: str = '') -> Iterator[None]:
    """Apply @patch to @tree under @directory (git apply --directory) for
    the duration of the with block; RigError if it does not apply.

    The patch is recorded in the tree's git directory first: if the rig is
    killed before the block ends, the next setup of the tree reverts it
    (undo_interrupted_patch()).
    """
    with open(patch) as f:
        text = f.read()
    state = _temp_patch_state(tree)
    undo_interrupted_patch(tree)
    if not _git_apply(tree, text, directory, '--check'):
        res = run(['git', '-C', tree, 'apply', '--check', '-v']
                  + ([f'--directory={directory}'] if directory else []) + [patch],
                  check=False, capture=True)
        err = res.stderr.strip().splitlines()
        raise RigError(f'{os.path.relpath(patch, REPO)} does not apply to '
                       f'{os.path.join(tree, directory)}: {err[-1] if err else "?"}')
    _write_state(state, {'patch': os.path.relpath(patch, REPO), 'directory': directory,
                         'text': text})
    try:
        if not _git_apply(tree, text, directory):
            raise RigError(f'{os.path.relpath(patch, REPO)} does not apply')
        yield
    finally:
        undo_interrupted_patch(tree, quiet=True)


def _write_state(state: str, rec: dict[str, Any]) -> None:
    with open(state + '.new', 'w') as f:
        json.dump(rec, f)
    os.replace(state + '.new', state)


def undo_interrupted_patch(tree: str, quiet: bool = False) -> None:
    """Take out the temporary patch a killed run left in @tree, if any
    (@quiet: the one this run applied, at the end of its block)."""
    state = _temp_patch_state(tree)
    try:
        with open(state) as f:
            rec = json.load(f)
    except FileNotFoundError:
        return
    except (OSError, ValueError) as err:
        raise RigError(f'{state}: unreadable ({err}); check {tree} with git '
                       'status and delete the file') from err
    text, directory = rec['text'], rec['directory']
    # The record is written before the patch is applied, so the patch may
    # never have been. git apply finds a hunk's context at other offsets
    # too: revert only when the patch is in and could not go in again.
    if _git_apply(tree, text, directory, '--check'):
        pass    # never applied
    elif _git_apply(tree, text, directory, '-R', '--check'):
        if not _git_apply(tree, text, directory, '-R'):
            raise RigError(f'cannot revert {rec["patch"]} in {tree}')
        if not quiet:
            info(f'reverted {rec["patch"]}, left applied in {tree} by an interrupted run')
    elif directory.startswith(RIG_SUBDIR):
        # A staged copy from the checkout: staging it anew puts it back.
        stage_repo_sources(tree)
        if not quiet:
            info(f'{rec["patch"]}, left in {tree} by an interrupted run: staged anew')
    else:
        raise RigError(f'{tree} has {rec["patch"]} neither applied nor reverted '
                       f'(an interrupted run, then edits?): check it with git status, '
                       f'then delete {state}')
    os.unlink(state)


def _apply_hooks(tree: str, hooks: Sequence[str]) -> None:
    for hook in hooks:
        res = run(['git', '-C', tree, 'apply', '--index', hook],
                  check=False, capture=True)
        if res.returncode != 0:
            raise RigError(f'test hook {os.path.relpath(hook, REPO)} does not '
                           f'apply: {_failed_hunk(tree, hook)}')


def commit_wiring(tree: str, hooks: Sequence[str]) -> None:
    _apply_hooks(tree, hooks)
    with open(os.path.join(tree, 'lib', 'Kconfig.debug'), 'a') as f:
        f.write(f'\nsource "{RIG_SUBDIR}/Kconfig"\n')
    with open(os.path.join(tree, 'lib', 'Makefile'), 'a') as f:
        f.write(f'\nobj-y += {os.path.basename(RIG_SUBDIR)}/\n')
    git(tree, 'add', 'lib/Kconfig.debug', 'lib/Makefile')
    git(tree, *IDENTITY, 'commit', '-q', '-m', WIRING_SUBJECT + '\n\n'
        'Added by scripts/rig setup so the repo\'s kunit/ and fake-gpu/ build in\n'
        'this tree, with the base\'s test hooks. rig export leaves this commit out.')


# --- applying the series ------------------------------------------------------

def _failed_hunk(tree: str, patch: str) -> str:
    """Name the file and hunk of @patch that does not apply."""
    res = run(['git', '-C', tree, 'apply', '--check', '-v', patch],
              check=False, capture=True)
    m = re.search(r'error: patch failed: (\S+):(\d+)', res.stderr)
    if not m:
        err = res.stderr.strip().splitlines()
        return err[-1] if err else 'git am failed (see above)'
    fname, line = m.group(1), int(m.group(2))
    hunk = next((h.header for h in diffs.parse_file(patch)
                 if h.path == fname and h.old_start == line), None)
    return f'{fname}, hunk "{hunk or "@@ -" + str(line)}"'


_AUTHOR_LINE = re.compile(r'^From: .*\n', re.M)


def _mail_header(text: str) -> tuple[str, str]:
    """(header with its last newline, the rest) of the patch mail @text."""
    header, sep, body = text.partition('\n\n')
    return header + '\n', sep[1:] + body


def has_author(text: str) -> bool:
    """Whether the mail header of patch @text has a From: line."""
    return _AUTHOR_LINE.search(_mail_header(text)[0]) is not None


def am(tree: str, patch: str,
       committer: Sequence[str] = IDENTITY) -> subprocess.CompletedProcess[str]:
    """git am @patch in @tree, aborted again if it fails (the caller says
    why); a patch with no author gets the rig's."""
    with open(patch, encoding='utf-8') as f:
        text = f.read()
    if not has_author(text):
        first, rest = text.split('\n', 1)
        text = f'{first}\nFrom: {IDENTITY_NAME} <{IDENTITY_EMAIL}>\n{rest}'
    res = run(['git', '-C', tree, *committer, 'am', '-q', '--keep-cr'],
              check=False, capture=True, input=text)
    if res.returncode:
        run(['git', '-C', tree, 'am', '--abort'], check=False, capture=True)
    return res


def _apply_series(base: Base, patches: list[str]) -> None:
    tree = base.tree
    for path in patches:
        if am(tree, path).returncode != 0:
            raise RigError(f'patch {os.path.relpath(path, REPO)} does not apply: '
                           f'{_failed_hunk(tree, path)}')


def _check_no_local_edits(tree: str) -> None:
    dirty = git(tree, 'status', '--porcelain', '--untracked-files=all')
    if dirty:
        raise RigError(
            f'the series changed, but the cached tree {tree} has uncommitted '
            'edits:\n' + '\n'.join(dirty.splitlines()[:20]) +
            '\ncommit them there and run "scripts/rig export", or discard them '
            'yourself; the rig never throws them away')


def setup(base: Base, quiet: bool = False) -> Base:
    """Make @base's cached tree match its series; return @base."""
    patches = series_files(base.series)
    want = series_hash(patches + base.hooks)
    if not os.path.isdir(os.path.join(base.tree, '.git')):
        origin = _create_tree(base)
        base.save_state({'origin': origin, 'version': kernel_version(base.tree)})
    state = base.load_state() or {}
    undo_interrupted_patch(base.tree)
    stage_repo_sources(base.tree)
    if state.get('series') == want:
        if not quiet:
            info(f'tree up to date: {base.tree} ({state.get("version")})')
        return base

    tree = base.tree
    old_head = git(tree, 'rev-parse', 'HEAD')
    if state.get('series'):
        _check_no_local_edits(tree)
        if git(tree, 'rev-list', '--count', f'{state["head"]}..HEAD') != '0':
            backup = time.strftime('rig-backup-%Y%m%d-%H%M%S')
            git(tree, 'branch', backup, 'HEAD')
            info(f'kept your unexported commits on branch {backup}')
    info(f'applying {len(patches)} patch(es) from '
         f'{os.path.relpath(base.series, REPO) if base.series else "no series"}')
    git(tree, 'checkout', '-q', '-B', 'rig', 'rig-pristine')
    try:
        _apply_series(base, patches)
        commit_wiring(tree, base.hooks)
    except RigError:
        # Leave the cache as it was before this setup: usable, old series
        # (a hook that failed may have left the index half-applied).
        git(tree, 'reset', '-q', '--hard')
        git(tree, 'checkout', '-q', '-B', 'rig', old_head)
        raise
    state.update(series=want, head=git(tree, 'rev-parse', 'HEAD'),
                 patches=[os.path.basename(p) for p in patches])
    base.save_state(state)
    info(f'tree ready: {tree} ({state.get("version")})')
    return base


def where(base: Base) -> str:
    if not os.path.isdir(os.path.join(base.tree, '.git')):
        raise RigError(f'no cached tree at {base.tree}: run '
                       f'"scripts/rig --base {base.name} setup"')
    return base.tree


def _read(path: str) -> str:
    with open(path, encoding='utf-8') as f:
        return f.read()


def _patch_id(diff: str) -> str:
    """git patch-id of @diff: equal for the same change, whatever its message."""
    return run(['git', 'patch-id', '--stable'], capture=True,
               input=diff + '\n').stdout.split(' ', 1)[0]


def _drop_author(path: str) -> None:
    """Remove the From: line from the mail header of the patch at @path."""
    header, body = _mail_header(_read(path))
    with open(path, 'w', encoding='utf-8') as f:
        f.write(_AUTHOR_LINE.sub('', header, count=1) + body)


def export(base: Base) -> None:
    """Write the rig branch's commits (minus the wiring) to the base's series."""
    if base.series is None:
        raise RigError(f'{base.describe()} has no series to export to: its tree '
                       'has the two-pass core')
    patch_dir = os.path.dirname(base.series)
    tree = where(base)
    commits = git(tree, 'rev-list', '--reverse', 'rig-pristine..HEAD').split()
    keep = [c for c in commits
            if git(tree, 'log', '-1', '--format=%s', c) != WIRING_SUBJECT]
    # Entries of another directory (upstream-rfc's "../upstream-fixes/...")
    # come first and are that directory's: they stay as they are.
    prereqs = split_series(base.series)[0]
    for commit, patch in zip(keep, prereqs):
        # patch-id tells a blank context line from a lone space: the stored
        # patch may have either (export writes the first, see below).
        ids = {_patch_id(git(tree, '-c', f'diff.suppressBlankEmpty={blank}', 'show', commit))
               for blank in ('true', 'false')}
        if _patch_id(_read(patch)) not in ids:
            raise RigError(f'commit {commit[:12]} of {tree} is not '
                           f'{os.path.relpath(patch, REPO)} any more: change that '
                           'patch on its own base, which exports it; nothing written')
    keep = keep[len(prereqs):]
    if not keep:
        raise RigError('the rig branch has no commits to export')
    old = glob.glob(os.path.join(patch_dir, '*.patch'))
    written = []
    for i, c in enumerate(keep, 1):
        # Blank context lines as empty lines, not a lone space: checkpatch
        # run on a patch file that git tracks (file mode, from the repo top)
        # reads every line as added code and calls " " trailing whitespace.
        out = git(tree, '-c', 'diff.suppressBlankEmpty=true', 'format-patch', '-1',
                  '--start-number', str(i),
                  '--zero-commit', '--no-signature', '-o', patch_dir, c)
        path = out.splitlines()[-1]
        if git(tree, 'log', '-1', '--format=%ae', c) == IDENTITY_EMAIL:
            _drop_author(path)
        written.append(path)
    for p in old:
        if p not in written:
            os.unlink(p)
    with open(base.series, encoding='utf-8') as f:
        comments = [line for line in f if line.startswith('#')]
    with open(base.series, 'w', encoding='utf-8') as f:
        f.writelines(comments)
        f.writelines(os.path.relpath(p, patch_dir) + '\n' for p in prereqs + written)
    # The tree already holds exactly these commits: no re-apply next time.
    state = base.load_state() or {}
    state.update(series=series_hash(series_files(base.series)), head=git(tree, 'rev-parse', 'HEAD'))
    base.save_state(state)
    for p in written:
        info(f'wrote {os.path.relpath(p, REPO)}')
