"""rig format-upstream: a set of kernel-patches/ as a series to send.

A set is a directory of kernel-patches/ with a cover-letter.txt and the
series of a base in configs/bases.ini: upstream-fixes (base upstream) and
rfc (base upstream-rfc, which applies the fixes first). The rig stores
its own patches without an author or a Signed-off-by: whoever sends them
is their author and certifies them (the Developer's Certificate of
Origin), so the sender's git identity is given here and nowhere else.

Each patch's "Fixes:" and "commit <id> upstream." tags are checked
against configs/upstream-commits.ini, the commit ids of upstream with
where each was seen; --mainline DIR checks that file against a mainline
clone. The series is made by git itself in a temporary worktree of the
cached tree (the pristine kernel plus the set's prerequisites): the
patches get the sender as author and Signed-off-by, Cc: lines from the
tree's get_maintainer.pl, and git format-patch writes them with a cover
letter. The written mails are then applied again with git am on the
same starting point and checked with checkpatch --strict; only a series
that passes both is moved into the output directory.
"""

import contextlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from typing import Iterator

from . import bases, tree
from .util import REPO, RigError, git, info, read_ini, run

PATCHES = os.path.join(REPO, 'kernel-patches')
COMMITS_INI = os.path.join(REPO, 'configs', 'upstream-commits.ini')
COVER = 'cover-letter.txt'
# A Fixes: tag as submitting-patches.rst wants it: 12+ hex digits, then
# the subject in ("...").
FIXES_RE = re.compile(r'^Fixes:[ \t]*([^\n]*)$', re.M)
FIXES_FORM = re.compile(r'^([0-9a-f]{12,40}) \("(.+)"\)$')
# A backport's first line, as stable's "commit <id> upstream." but in the
# description style checkpatch asks of every commit reference.
# The subject may wrap once, as checkpatch's 75 columns ask.
UPSTREAM_RE = re.compile(r'^commit ([0-9a-f]{12,40}) \("([^\n"]+(?:\n[^\n"]+)?)"\)'
                         r'[ \t\n]+upstream\.$', re.M)
# Stable's own forms, which must name a known commit as well.
STABLE_RE = re.compile(r'^(?:commit ([0-9a-f]{40}) upstream\.|'
                       r'\[ Upstream commit ([0-9a-f]{12,40}) \])$', re.M)
# checkpatch looks a Fixes: id up in the git history where it runs, and
# calls it unknown where there is none: the rig's trees have none.
# configs/upstream-commits.ini and --mainline check the ids instead; the
# tag's form is still checkpatch's (GIT_COMMIT_ID).
CHECKPATCH_NO_HISTORY = ['--ignore', 'UNKNOWN_COMMIT_ID']
# The sender's identity is given with -c user.*, which these would override.
GIT_ENV = {k: v for k, v in os.environ.items()
           if not k.startswith(('GIT_AUTHOR_', 'GIT_COMMITTER_'))}


@dataclass
class Commit:
    """One upstream commit the rig's patches name."""
    subject: str
    sha: str
    author: str
    found: str


def load_commits(path: str = COMMITS_INI) -> dict[str, Commit]:
    """configs/upstream-commits.ini, by subject."""
    ini = read_ini(path)
    commits = {}
    for subject in ini.sections():
        sec = ini[subject]
        sha = sec.get('commit', '').strip()
        if not re.fullmatch(r'[0-9a-f]{40}', sha):
            raise RigError(f'{path}: [{subject}] needs commit = <40 hex digits>, '
                           f'not "{sha}"')
        if not sec.get('found', '').strip():
            raise RigError(f'{path}: [{subject}] does not say where its id was found')
        commits[subject] = Commit(subject, sha, sec.get('author', ''), sec['found'])
    return commits


def sets() -> list[str]:
    """The directories of kernel-patches/ that are sets to send."""
    return sorted(d for d in os.listdir(PATCHES)
                  if os.path.isfile(os.path.join(PATCHES, d, COVER)))


def set_base(name: str) -> bases.BaseDef:
    """The base whose series is set @name's."""
    series = os.path.join(PATCHES, name, 'series')
    for base in bases.load().values():
        if base.series == series:
            return base
    raise RigError(f'no base in configs/bases.ini has the series of '
                   f'kernel-patches/{name}/')


def home_base(name: str) -> bases.BaseDef:
    """The base whose package is set @name's kernel (upstream for both sets:
    upstream-rfc is a variant of it): its cached tree is where the set is
    formatted."""
    return bases.select(set_base(name).kernel)


def check_set_name(name: str) -> None:
    if name not in sets():
        raise RigError(f'unknown set {name}; known: {", ".join(sets())} (the '
                       f'directories of kernel-patches/ with a {COVER})')


def sender(cwd: str = REPO) -> tuple[str, str]:
    """(name, email) from the user's git configuration; RigError if unset."""
    name = git(cwd, 'config', 'user.name', check=False)
    email = git(cwd, 'config', 'user.email', check=False)
    if not name or not email:
        raise RigError('no sender identity: the series is yours to send, with your '
                       'Signed-off-by. Set it with\n  git config --global user.name '
                       '"Your Name"\n  git config --global user.email you@example.com')
    return name, email


def check_references(path: str, text: str, commits: dict[str, Commit]) -> None:
    """Every Fixes: and "commit <id> upstream." of patch @text names a commit
    of @commits, by the id listed there; RigError otherwise."""
    rel = os.path.relpath(path, REPO)
    for tag in FIXES_RE.findall(text):
        m = FIXES_FORM.match(tag.strip())
        if not m:
            raise RigError(f'{rel}: "Fixes: {tag}" is not of the form '
                           'Fixes: <12+ hex digits> ("subject")')
        sha, subject = m.groups()
        known = commits.get(subject)
        if known is None:
            raise RigError(f'{rel}: Fixes: names "{subject}", whose commit id '
                           f'is not known: find it (a mainline clone: git log '
                           f'--grep) and add it to {os.path.relpath(COMMITS_INI, REPO)} '
                           'with where it was found')
        if not known.sha.startswith(sha):
            raise RigError(f'{rel}: Fixes: {sha} for "{subject}", but '
                           f'{os.path.relpath(COMMITS_INI, REPO)} has {known.sha}')
    for sha, wrapped in UPSTREAM_RE.findall(text):
        subject = ' '.join(wrapped.split())
        known = commits.get(subject)
        if known is None or not known.sha.startswith(sha):
            raise RigError(f'{rel}: "commit {sha} ("{subject}") upstream." is not '
                           f'in {os.path.relpath(COMMITS_INI, REPO)}')
    for long_form, short_form in STABLE_RE.findall(text):
        sha = long_form or short_form
        if not any(c.sha.startswith(sha) for c in commits.values()):
            raise RigError(f'{rel}: upstream commit {sha} is not in '
                           f'{os.path.relpath(COMMITS_INI, REPO)}')


def check_mainline(commits: dict[str, Commit], mainline: str) -> None:
    """Each commit of @commits is in the clone @mainline, with its subject."""
    if not git(mainline, 'rev-parse', '--git-dir', check=False):
        raise RigError(f'--mainline {mainline} is not a git clone')
    for c in commits.values():
        got = git(mainline, 'log', '-1', '--format=%s', c.sha, check=False)
        if got != c.subject:
            found = git(mainline, 'log', '--all', '--format=%H %s', '-F',
                        f'--grep={c.subject}', check=False)
            hit = [line.split(' ', 1)[0] for line in found.splitlines()
                   if line.split(' ', 1)[1:] == [c.subject]]
            raise RigError(f'{mainline} has no commit {c.sha} "{c.subject}"'
                           + (f'; the subject is at {", ".join(hit)}' if hit else ''))
    info(f'the {len(commits)} upstream commit ids are in {mainline}')


def read_cover(name: str) -> tuple[str, str, str]:
    """(subject prefix, subject, blurb) of set @name's cover letter."""
    path = os.path.join(PATCHES, name, COVER)
    with open(path, encoding='utf-8') as f:
        header, _, blurb = f.read().partition('\n\n')
    fields = dict(line.split(': ', 1) for line in header.splitlines() if ': ' in line)
    if 'Subject' not in fields or not blurb.strip():
        raise RigError(f'{path}: needs a "Subject: ..." line, a blank line, then the text')
    return fields.get('Prefix', 'PATCH'), fields['Subject'], blurb.strip('\n')


def maintainers(wt: str, patch: str) -> tuple[list[str], list[str]]:
    """(people, lists) get_maintainer.pl names for @patch, in tree @wt."""
    def ask(*opts: str) -> list[str]:
        out = run(['perl', 'scripts/get_maintainer.pl', '--no-git', '--no-git-fallback',
                   '--no-rolestats', *opts, patch], cwd=wt, capture=True).stdout
        return [line.strip() for line in out.splitlines() if line.strip()]
    return ask('--no-l'), ask('--no-m', '--no-r', '--l')


@contextlib.contextmanager
def worktree(src: str) -> Iterator[str]:
    """A temporary detached worktree of the cached tree @src; removed after."""
    wt = tempfile.mkdtemp(prefix='rig-format-')
    os.rmdir(wt)
    git(src, 'worktree', 'add', '-q', '--detach', wt, 'rig-pristine')
    try:
        yield wt
    finally:
        git(src, 'worktree', 'remove', '--force', wt, check=False)
        shutil.rmtree(wt, ignore_errors=True)
        git(src, 'worktree', 'prune', check=False)


def _am_all(wt: str, patches: list[str], where: str) -> None:
    for p in patches:
        res = tree.am(wt, p)
        if res.returncode:
            raise RigError(f'{os.path.relpath(p, REPO)} does not apply {where}: '
                           f'{res.stderr.strip()}')


def _ident(sender: tuple[str, str]) -> str:
    return f'{sender[0]} <{sender[1]}>'


def _sign(wt: str, sender: tuple[str, str], people: list[str]) -> None:
    """Make HEAD the sender's: author, Cc: lines, Signed-off-by last."""
    msg = git(wt, 'log', '-1', '--format=%B')
    trailers = [f'Cc: {p}' for p in people] + [f'Signed-off-by: {_ident(sender)}']
    args = [a for t in trailers for a in ('--trailer', t)]
    msg = run(['git', 'interpret-trailers', '--if-exists', 'addIfDifferent', *args],
              capture=True, input=msg + '\n').stdout
    run(['git', '-C', wt, *tree.identity_args(*sender), 'commit', '-q', '--amend',
         '--reset-author', '-F', '-'], input=msg, capture=True, env=GIT_ENV)


def format_set(name: str, out: str, sender: tuple[str, str], base_tree: str,
               wt: str | None = None) -> list[str]:
    """Write set @name as mails signed by @sender (name, email) into the new
    directory @out; return their paths. @base_tree is the cached tree of
    the set's kernel (its rig-pristine commit is the starting point); @wt a
    worktree of it to use (one is made and removed if None)."""
    if os.path.exists(out) and os.listdir(out):
        raise RigError(f'{out} exists and is not empty: give a new directory')
    prereqs, own = tree.split_series(os.path.join(PATCHES, name, 'series'))
    commits = load_commits()
    for p in own:
        with open(p, encoding='utf-8') as f:
            check_references(p, f.read(), commits)
    cover = read_cover(name)
    if wt is None:
        with worktree(base_tree) as new_wt:
            return format_set(name, out, sender, base_tree, new_wt)
    git(wt, 'checkout', '-q', '-f', '--detach', 'rig-pristine')
    tmp_out = tempfile.mkdtemp(prefix='.rig-format-', dir=os.path.dirname(os.path.abspath(out)))
    try:
        mails = _write_mails(wt, tmp_out, prereqs, own, sender, cover)
        if os.path.isdir(out):
            os.rmdir(out)
        os.rename(tmp_out, out)
    finally:
        shutil.rmtree(tmp_out, ignore_errors=True)
    return [os.path.join(out, os.path.basename(m)) for m in mails]


def _write_mails(wt: str, out: str, prereqs: list[str], own: list[str],
                 sender: tuple[str, str], cover: tuple[str, str, str]) -> list[str]:
    """The series in worktree @wt, as checked mails in @out."""
    prefix, subject, blurb = cover
    _am_all(wt, prereqs, 'on the pristine kernel')
    start = git(wt, 'rev-parse', 'HEAD')
    all_people: list[str] = []
    all_lists: list[str] = []
    for p in own:
        _am_all(wt, [p], 'on the pristine kernel and the patches before it')
        diff = os.path.join(out, 'for-get-maintainer.patch')
        with open(diff, 'w', encoding='utf-8') as f:
            f.write(git(wt, 'format-patch', '-1', '--stdout', 'HEAD') + '\n')
        people, lists = maintainers(wt, diff)
        os.unlink(diff)
        _sign(wt, sender, people)
        all_people += [x for x in people if x not in all_people]
        all_lists += [x for x in lists if x not in all_lists]
    # Maintainers and reviewers in To:, the lists in Cc:.
    run(['git', '-C', wt, *tree.identity_args(*sender), 'format-patch', '-q',
         '--cover-letter', '--thread=shallow', f'--subject-prefix={prefix}', '-o', out,
         *[f'--to={x}' for x in all_people], *[f'--cc={x}' for x in all_lists],
         f'{start}..HEAD'], capture=True, env=GIT_ENV)
    mails = sorted(os.path.join(out, m) for m in os.listdir(out))
    _fill_cover(mails[0], subject, blurb)
    # The mails as a maintainer gets them: they apply, and checkpatch has
    # nothing to say.
    git(wt, 'checkout', '-q', '--detach', start)
    _am_all(wt, mails[1:], 'again as written')
    for m in mails[1:]:
        res = run(['perl', 'scripts/checkpatch.pl', '--strict', '-q',
                   *CHECKPATCH_NO_HISTORY, m], cwd=wt, check=False, capture=True)
        if res.returncode or res.stdout.strip():
            raise RigError(f'checkpatch --strict on the written '
                           f'{os.path.basename(m)}:\n{res.stdout.strip()}')
    return mails


def _fill_cover(path: str, subject: str, blurb: str) -> None:
    with open(path, encoding='utf-8') as f:
        text = f.read()
    if '*** SUBJECT HERE ***' not in text or '*** BLURB HERE ***' not in text:
        raise RigError(f'git format-patch wrote no cover letter template in {path}')
    text = text.replace('*** SUBJECT HERE ***', subject).replace('*** BLURB HERE ***', blurb)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
