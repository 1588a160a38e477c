"""checkpatch --strict over what the rig submits: its kernel patches and C.

The patches of every base's series (configs/bases.ini) as patches, and
the repo's own kernel and userspace C (fake-gpu/, kunit/, xe-tests/,
userspace/) with -f, all with the checkpatch.pl of the tree given (the
upstream base's). The test hooks are not submitted anywhere and are left
out.
"""

import glob
import os

from . import bases, tree
from .util import REPO, run

SOURCE_GLOBS = ('fake-gpu/*.[ch]', 'kunit/*.[ch]', 'xe-tests/*.c', 'userspace/*.c')


def files(globs: tuple[str, ...]) -> list[str]:
    return sorted(p for g in globs for p in glob.glob(os.path.join(REPO, g)))


def patches() -> list[str]:
    """The patch files of every base's series, each once."""
    return sorted({os.path.realpath(p) for b in bases.load().values()
                   for p in tree.series_files(b.series)})


def checkpatch(kernel_tree: str) -> list[str]:
    """checkpatch's complaints, one "file: output" entry per file with any."""
    script = os.path.join(kernel_tree, 'scripts', 'checkpatch.pl')
    problems = []
    runs: list[tuple[list[str], list[str]]] = [([], patches()),
                                               (['-f'], files(SOURCE_GLOBS))]
    for flags, paths in runs:
        for path in paths:
            res = run(['perl', script, '--strict', '--no-tree', '-q', *flags, path],
                      check=False, capture=True)
            out = (res.stdout + res.stderr).strip()
            if res.returncode or out:
                problems.append(f'{os.path.relpath(path, REPO)}:\n{out}')
    return problems
