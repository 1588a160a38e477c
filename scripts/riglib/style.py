"""checkpatch --strict over what the rig submits: its kernel patches and C.

The kernel-patches/ series, upstream-fixes/ and rfc/ patches as patches,
and the repo's own kernel and userspace C (fake-gpu/, kunit/, xe-tests/,
userspace/) with -f, all with the checkpatch.pl of the tree given (the
upstream base's). The test hooks are not submitted anywhere and are left
out.
"""

import glob
import os

from .util import REPO, run

PATCH_GLOBS = ('kernel-patches/*.patch', 'kernel-patches/upstream-fixes/*.patch',
               'kernel-patches/rfc/*.patch')
SOURCE_GLOBS = ('fake-gpu/*.[ch]', 'kunit/*.[ch]', 'xe-tests/*.c', 'userspace/*.c')


def files(globs: tuple[str, ...]) -> list[str]:
    return sorted(p for g in globs for p in glob.glob(os.path.join(REPO, g)))


def checkpatch(tree: str) -> list[str]:
    """checkpatch's complaints, one "file: output" entry per file with any."""
    script = os.path.join(tree, 'scripts', 'checkpatch.pl')
    problems = []
    runs: list[tuple[list[str], list[str]]] = [([], files(PATCH_GLOBS)),
                                               (['-f'], files(SOURCE_GLOBS))]
    for flags, paths in runs:
        for path in paths:
            res = run(['perl', script, '--strict', '--no-tree', '-q', *flags, path],
                      check=False, capture=True)
            out = (res.stdout + res.stderr).strip()
            if res.returncode or out:
                problems.append(f'{os.path.relpath(path, REPO)}:\n{out}')
    return problems
