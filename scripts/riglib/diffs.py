"""Unified diffs, read one way for the whole runner.

Patches here come from git format-patch (a commit message first, a
signature after), from the mutants (a header of their own first), and
from git diff. A hunk is walked by the line counts of its "@@" header,
not by its lines' first characters: git's diff.suppressBlankEmpty, which
rig export uses, writes a blank context line as an empty line, so a body
line's first character alone does not say where the hunk ends. What lies
between hunks (commit messages, "diff --git", "index", signatures) is
skipped.
"""

import re
from typing import NamedTuple

from .util import RigError

HUNK = re.compile(r'^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@')


class Hunk(NamedTuple):
    path: str | None    # the new file's path ("b/" dropped), None if deleted
    old_start: int
    old_count: int
    new_start: int
    new_count: int
    header: str         # the "@@" line
    body: list[str]     # its lines, each with its ' ', '+' or '-'

    def added(self) -> list[tuple[int, str]]:
        """(new-file line number, text) of each line the hunk adds."""
        out = []
        line = self.new_start
        for text in self.body:
            if text[:1] == '+':
                out.append((line, text[1:]))
            if text[:1] != '-':
                line += 1
        return out


def _path(header: str) -> str | None:
    name = header[4:].strip().split('\t')[0]
    if name == '/dev/null':
        return None
    return name[2:] if name.startswith('b/') else name


def parse(text: str, source: str = 'diff') -> list[Hunk]:
    """Every hunk of the unified diff @text; RigError, naming @source and
    the line, if a hunk's body does not match its header's counts."""
    hunks: list[Hunk] = []
    path: str | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if line.startswith('+++ '):
            path = _path(line)
            continue
        m = HUNK.match(line)
        if not m:
            continue
        old_left = int(m.group(2) if m.group(2) is not None else 1)
        new_left = int(m.group(4) if m.group(4) is not None else 1)
        hunk = Hunk(path, int(m.group(1)), old_left, int(m.group(3)), new_left,
                    line, [])
        while old_left or new_left:
            if i == len(lines):
                raise RigError(f'{source}: last hunk ends before its @@ line counts')
            body = lines[i] if lines[i] else ' '
            i += 1
            kind = body[:1]
            if kind == '\\':        # "\ No newline at end of file"
                continue
            if kind not in ' +-' or (kind != '+' and old_left == 0) or \
               (kind != '-' and new_left == 0):
                raise RigError(f'{source}:{i}: hunk body does not match its @@ '
                               'line counts')
            old_left -= kind != '+'
            new_left -= kind != '-'
            hunk.body.append(body)
        hunks.append(hunk)
    return hunks


def parse_file(path: str) -> list[Hunk]:
    """parse() of the file @path."""
    try:
        with open(path, errors='replace') as f:
            return parse(f.read(), path)
    except OSError as err:
        raise RigError(f'cannot read {path}: {err.strerror}') from err


def files(hunks: list[Hunk]) -> list[str]:
    """The files @hunks change, in order, each once."""
    return list(dict.fromkeys(h.path for h in hunks if h.path))
