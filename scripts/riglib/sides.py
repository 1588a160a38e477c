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

import os
import shutil

from . import tree
from .util import RigError, git, info

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


def worktree(base: tree.Base, side: str) -> str:
    """The worktree of @side of @base, wired, created or moved as needed."""
    if not base.series:
        raise RigError(f'base {base.name} has no series: it has no two sides')
    commit = commit_of(base, side)
    wt = f'{base.tree.rstrip("/")}-{side}'
    if not os.path.exists(os.path.join(wt, '.git')):
        if os.path.exists(wt):
            shutil.rmtree(wt)
        git(base.tree, 'worktree', 'prune')
        info(f'creating the {side} worktree {wt}')
        git(base.tree, 'worktree', 'add', '-q', '--detach', wt, commit)
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
