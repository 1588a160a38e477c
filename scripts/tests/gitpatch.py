"""Patch files made by git itself, for tests that read or apply them."""

import os
import subprocess


def sh(cwd, *cmd):
    return subprocess.run(cmd, cwd=cwd, check=True, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE).stdout


def make_patch(workdir, name, old, new, subject, blank_empty=False):
    """A format-patch file turning mm/mmu_notifier.c from @old into @new.

    @blank_empty writes blank context lines as empty lines, as rig export
    does (diff.suppressBlankEmpty).
    """
    repo = os.path.join(workdir, 'patchrepo-' + name)
    os.makedirs(os.path.join(repo, 'mm'))
    sh(repo, 'git', 'init', '-q')
    with open(os.path.join(repo, 'mm', 'mmu_notifier.c'), 'w') as f:
        f.write(old)
    sh(repo, 'git', 'add', '-A')
    sh(repo, 'git', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'base')
    with open(os.path.join(repo, 'mm', 'mmu_notifier.c'), 'w') as f:
        f.write(new)
    sh(repo, 'git', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', subject)
    return sh(repo, 'git', '-c', f'diff.suppressBlankEmpty={str(blank_empty).lower()}',
              'format-patch', '-1', '--stdout')
