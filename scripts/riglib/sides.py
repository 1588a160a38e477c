"""The two sides of a base: its pristine tree and the tree with its series.

"rig hmm" and "rig bench --pristine" build the same configuration on both
and compare. Each side is a worktree of the cached tree of its own, next
to it (<tree>-pristine, <tree>-series), so that the profiles' tree and
build directories are left alone, and so that a second run finds every
file as the first left it: one worktree checked out at both commits in
turn would change the mtime of include/linux/mmu_notifier.h, which x86's
asm/tlbflush.h includes, and make would rebuild nearly everything each
time.

Each side carries the wiring commit without the base's test hooks: the
repo's kunit/ and fake-gpu/ are in its Kconfig, and a configuration that
enables none of their symbols builds the same kernel as without them.
"""

import hashlib
import json
import os
import shutil

from . import tree
from .util import REPO, RigError, git, info, run

SIDES = ('pristine', 'series')


def series_tip(base: tree.Base) -> str:
    """The commit of the cached tree's last series patch (before the wiring)."""
    subject = git(base.tree, 'log', '-1', '--format=%s', 'rig')
    return git(base.tree, 'rev-parse', 'rig~1' if subject == tree.WIRING_SUBJECT else 'rig')


def commit_of(base: tree.Base, side: str) -> str:
    """The commit @side of @base is built at."""
    if side == 'pristine':
        return git(base.tree, 'rev-parse', 'rig-pristine')
    if side == 'series':
        return series_tip(base)
    raise RigError(f'unknown side {side!r} (known: {", ".join(SIDES)})')


def _wired_at(wt: str, commit: str) -> bool:
    """True if @wt is the wiring commit on top of @commit, unmodified."""
    if git(wt, 'log', '-1', '--format=%s', 'HEAD', check=False) != tree.WIRING_SUBJECT:
        return False
    if git(wt, 'rev-parse', 'HEAD~1', check=False) != commit:
        return False
    return git(wt, 'status', '--porcelain', '--untracked-files=no') == ''


def _worktree_at(base: tree.Base, name: str, commit: str) -> str:
    """<tree>-@name, a worktree of @base's tree; if new, at @commit."""
    wt = f'{base.tree.rstrip("/")}-{name}'
    if not os.path.exists(os.path.join(wt, '.git')):
        if os.path.exists(wt):
            shutil.rmtree(wt)
        git(base.tree, 'worktree', 'prune')
        info(f'creating the {name} worktree {wt}')
        git(base.tree, 'worktree', 'add', '-q', '--detach', wt, commit)
    return wt


def worktree(base: tree.Base, side: str) -> str:
    """The worktree of @side of @base, wired, created or moved as needed."""
    if not base.series:
        raise RigError(f'base {base.name} has no series: it has no two sides')
    commit = commit_of(base, side)
    wt = _worktree_at(base, side, commit)
    if not _wired_at(wt, commit):
        info(f'checking out the {side} side ({commit[:12]}) in {wt}')
        git(wt, 'checkout', '-q', '-f', '--detach', commit)
        tree.stage_repo_sources(wt)
        tree.commit_wiring(wt, hooks=[])
    else:
        # The rig's sources are staged again: only what changed is
        # rewritten, so unchanged objects stay valid.
        tree.stage_repo_sources(wt)
    return wt


# The state of a variant's worktree (variant_worktree()), in its git
# directory: which patches its commit carries.
VARIANT_STATE = 'rig-variant.json'


def _diffs_hash(patches: list[str]) -> str:
    """A hash of what @patches change, not of their messages: a reworded
    message must not check the tree out again (and make rebuild it)."""
    h = hashlib.sha256()
    for path in patches:
        with open(path, encoding='utf-8') as f:
            text = f.read()
        start = text.find('diff --git ')
        h.update(text[start if start >= 0 else 0:].encode() + b'\0')
    return h.hexdigest()


def variant_worktree(base: tree.Base, name: str, patches: list[str]) -> str:
    """A worktree of @base's pristine tree with @patches applied, wired.

    For comparisons beyond the two sides ("rig bench --icount": the core
    before the series, or with an RFC). Its own worktree <tree>-<name>, as
    the sides have, and rebuilt only when @patches change.
    """
    if name in SIDES:
        raise RigError(f'{name!r} is a side of the base, not a variant')
    pristine = git(base.tree, 'rev-parse', 'rig-pristine')
    key = _diffs_hash(patches) + ' ' + pristine
    wt = _worktree_at(base, name, pristine)
    state = os.path.join(wt, git(wt, 'rev-parse', '--git-path', VARIANT_STATE))
    try:
        with open(state) as f:
            recorded = json.load(f)
    except (OSError, ValueError):
        recorded = {}
    if recorded.get('key') == key and _wired_at(wt, recorded.get('commit', '')):
        tree.stage_repo_sources(wt)
        return wt
    info(f'checking out the {name} kernel in {wt}')
    if os.path.exists(state):
        os.unlink(state)
    git(wt, 'checkout', '-q', '-f', '--detach', pristine)
    for patch in patches:
        res = run(['git', '-C', wt, 'apply', '--index', patch], check=False, capture=True)
        if res.returncode:
            git(wt, 'reset', '-q', '--hard', pristine)
            raise RigError(f'{os.path.relpath(patch, REPO)} does not apply to the '
                           f'{base.name} base: {res.stderr.strip()}')
        git(wt, *tree.IDENTITY, 'commit', '-q', '-m',
            f'{name}: {os.path.basename(patch)} [not for export]')
    commit = git(wt, 'rev-parse', 'HEAD')
    tree.stage_repo_sources(wt)
    tree.commit_wiring(wt, hooks=[])
    with open(state, 'w') as f:
        json.dump({'key': key, 'commit': commit}, f)
    return wt
