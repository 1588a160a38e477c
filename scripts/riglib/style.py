"""checkpatch --strict over what the rig submits: its kernel patches and C.

The patches of every base's series (configs/bases.ini) as patches, and
the repo's own kernel and userspace C (fake-gpu/, kunit/, xe-tests/,
userspace/) with -f, all with the checkpatch.pl of the tree given (the
upstream base's). The rig's own patches are stored without a sign-off
(the sender's, given by "rig format-upstream"), so the sets it sends are
also formatted as mails, signed by a test identity that exists only for
this check, and those must apply and pass (riglib.upstream). The test
hooks are not submitted anywhere and are left out.
"""

import glob
import os
import shutil
import tempfile

from . import bases, tree, upstream
from .util import REPO, RigError, run

# Signs the mails of the check; never written to any configuration.
TEST_SENDER = ('Rig Selftest', 'selftest@rig.invalid')

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
            with open(path, encoding='utf-8') as f:
                anonymous = flags == [] and not tree.has_author(f.read())
            # An unsigned patch of the rig's is checked signed, below.
            ignore = ['--ignore', 'MISSING_SIGN_OFF'] if anonymous else []
            res = run(['perl', script, '--strict', '--no-tree', '-q', *ignore,
                       *upstream.CHECKPATCH_NO_HISTORY, *flags, path],
                      check=False, capture=True)
            out = (res.stdout + res.stderr).strip()
            if res.returncode or out:
                problems.append(f'{os.path.relpath(path, REPO)}:\n{out}')
    return problems


def formatted_sets() -> list[str]:
    """Each set of kernel-patches/ as "rig format-upstream" writes it, signed
    by TEST_SENDER, on its base's cached tree: what fails to format, apply
    or pass checkpatch."""
    problems = []
    homes: dict[str, list[str]] = {}
    for name in upstream.sets():
        home = tree.Base(upstream.home_base(name))
        if not os.path.isdir(os.path.join(home.tree, '.git')):
            problems.append(f'kernel-patches/{name}: not formatted, the tree of base '
                            f'{home.name} is not set up ("scripts/rig --base '
                            f'{home.name} setup")')
            continue
        homes.setdefault(home.tree, []).append(name)
    for home_tree, names in homes.items():
        # One worktree for the sets of one kernel: making one costs half a minute.
        with upstream.worktree(home_tree) as wt:
            for name in names:
                out = tempfile.mkdtemp(prefix='rig-format-check-')
                try:
                    upstream.format_set(name, out, TEST_SENDER, home_tree, wt)
                except RigError as err:
                    problems.append(f'kernel-patches/{name}, formatted:\n{err}')
                finally:
                    shutil.rmtree(out, ignore_errors=True)
    return problems
