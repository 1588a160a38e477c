"""rig differences: the 6.12 backport against the merged upstream code.

For every top-level definition (function, struct, union, enum) that the
6.12 series adds or changes, find the definition of the same name in the
upstream base's tree (same file first, then the same directory, since
6.12's xe_vm.c became xe_userptr.c and friends) and compare the two with
comments and whitespace left out. Each definition is then

  identical   the backport has upstream's code;
  renamed     the backport has upstream's code once the base's API renames
              (bases.ini "api_renames": the 6.12 name of a lock, a field, a
              function that 7.3 renamed) are applied to it;
  differs     both have it, with other code;
  6.12 only   upstream has no definition of that name.

configs/differences.ini lists every definition that is neither identical
nor renamed, with its behaviour and the reason. The check fails on a
difference the file does not list, and on a section that no longer names a
difference (a stale list hides the next one).
"""

import json
import os
import re
from typing import Any, Sequence

from . import diffs, tree
from .util import REPO, RigError, git, read_ini, results_dir

DIFFERENCES_INI = os.path.join(REPO, 'configs', 'differences.ini')
# What a section of it must say.
FIELDS = ('file', 'upstream', 'behaviour', 'why')

IDENT = re.compile(r'[A-Za-z_]\w*')


def blank_comments_and_strings(text: str, strings: bool = True) -> str:
    """@text with comments (and string and char literals) blanked.

    Every character keeps its offset, so the result lines up with @text.
    """
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r'[^\n]', ' ', text[i + 1:j - 1]) + c
                       if strings else text[i:j])
            i = j
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def definitions(text: str) -> dict[str, tuple[int, int, str]]:
    """{name: (first line, last line, code)} of @text's top-level bodies.

    A body is a function definition or a struct/union/enum definition; its
    code has comments, preprocessor lines and whitespace runs removed.
    Declarations ending in ';' outside braces are not bodies.
    """
    # Braces are found in code without comments and literals; the code
    # compared keeps its literals: another string is another behaviour.
    clean = blank_comments_and_strings(text)
    lines = clean.split('\n')
    code_lines = blank_comments_and_strings(text, strings=False).split('\n')
    # Drop preprocessor lines (and their continuations) from the scan.
    keep: list[str] = []
    code: list[str] = []
    cont = False
    for ln, full in zip(lines, code_lines):
        pre = cont or ln.lstrip().startswith('#')
        cont = pre and ln.rstrip().endswith('\\')
        keep.append('' if pre else ln)
        code.append('' if pre else full)
    defs: dict[str, tuple[int, int, str]] = {}
    depth = 0
    start: int | None = None
    head: list[str] = []
    for number, ln in enumerate(keep, 1):
        for ch in ln:
            if depth == 0 and start is None and not ch.isspace():
                start = number
            if ch == '{':
                depth += 1
            elif ch == '}':
                depth -= 1
                if depth == 0:
                    name = _name(''.join(head))
                    if name and start is not None:
                        body = '\n'.join(code[start - 1:number])
                        defs[name] = (start, number, ' '.join(body.split()))
                    start, head = None, []
            elif ch == ';' and depth == 0:
                start, head = None, []
            elif depth == 0:
                head.append(ch)
        if depth == 0:
            head.append(' ')
    return defs


def _name(head: str) -> str | None:
    """The name a definition's text before its '{' defines, or None."""
    head = ' '.join(head.split())
    m = re.match(r'^(?:typedef\s+)?(struct|union|enum)\s+(\w+)\s*$', head)
    if m:
        return f'{m.group(1)} {m.group(2)}'
    if '(' in head and '=' not in head.split('(')[0]:
        before = head.split('(')[0].split()
        if before and IDENT.fullmatch(before[-1].lstrip('*')):
            return before[-1].lstrip('*')
    return None


def changed_lines(tree: str, base_rev: str, rev: str) -> dict[str, set[int]]:
    """{path: set of new-file line numbers} that @rev changes from @base_rev."""
    out: dict[str, set[int]] = {}
    diff = git(tree, 'diff', '-U0', '--no-color', base_rev, rev)
    for h in diffs.parse(diff, f'git diff {base_rev} {rev}'):
        if h.path:
            # A pure deletion (count 0) changes the line it follows.
            out.setdefault(h.path, set()).update(
                range(h.new_start, h.new_start + max(h.new_count, 1)))
    return out


def _read(path: str) -> str | None:
    try:
        with open(path, errors='replace') as f:
            return f.read()
    except OSError:
        return None


def _find_upstream(tree: str, path: str, name: str) -> tuple[str | None, str | None]:
    """(relative path, code) of @name's definition in upstream @tree."""
    candidates = [path]
    d = os.path.dirname(path)
    try:
        candidates += sorted(os.path.join(d, f) for f in os.listdir(os.path.join(tree, d))
                             if f.endswith(('.c', '.h')) and os.path.join(d, f) != path)
    except OSError:
        pass
    for rel in candidates:
        text = _read(os.path.join(tree, rel))
        if text is None or name.split()[-1] not in text:
            continue
        found = definitions(text).get(name)
        if found:
            return rel, found[2]
    return None, None


def apply_renames(code: str, renames: Sequence[tuple[str, ...]]) -> str:
    """@code with each (old, new) of @renames replaced, old not part of a word."""
    for old, new in renames:
        code = re.sub(r'(?<!\w)' + re.escape(old) + r'(?!\w)', new, code)
    return code


def compare(old_tree: str, series_rev: str, new_tree: str,
            renames: Sequence[tuple[str, ...]] = ()) -> list[dict[str, Any]]:
    """One row per definition the series changes in @old_tree."""
    rows = []
    for path, changed in sorted(changed_lines(old_tree, 'rig-pristine', series_rev).items()):
        text = git(old_tree, 'show', f'{series_rev}:{path}')
        for name, (first, last, code) in sorted(definitions(text).items(),
                                                key=lambda kv: kv[1][0]):
            if not any(first <= n <= last for n in changed):
                continue
            up_path, up_code = _find_upstream(new_tree, path, name)
            status = ('6.12 only' if up_code is None else
                      'identical' if up_code == code else
                      'renamed' if up_code == apply_renames(code, renames) else
                      'differs')
            rows.append({'definition': name, 'file': path, 'upstream_file': up_path,
                         'status': status})
    return rows


def listed(path: str = DIFFERENCES_INI) -> dict[str, dict[str, str]]:
    """{definition: its fields} of the listed differences in @path."""
    parser = read_ini(path)
    out = {}
    for name in parser.sections():
        missing = [k for k in FIELDS if not parser[name].get(k)]
        if missing:
            raise RigError(f'{path}: [{name}] lacks {", ".join(missing)}')
        out[name] = dict(parser[name])
    return out


def check(rows: list[dict[str, Any]], table: dict[str, dict[str, str]]) -> list[str]:
    """The problems: differences the list lacks, sections it should not have."""
    problems = []
    differ = {r['definition']: r for r in rows
              if r['status'] not in ('identical', 'renamed')}
    for name, r in differ.items():
        if name not in table:
            problems.append(f'{r["file"]}: {name} ({r["status"]}) is not in '
                            f'{os.path.relpath(DIFFERENCES_INI, REPO)}')
    names = {r['definition'] for r in rows}
    for name in table:
        if name not in differ:
            why = 'is identical to upstream (up to the API renames)' if name in names else \
                'is not changed by the 6.12 series'
            problems.append(f'{os.path.relpath(DIFFERENCES_INI, REPO)} lists {name}, '
                            f'which {why}: drop its section')
    return problems


def run(old_base: tree.Base, new_base: tree.Base) -> tuple[list[dict[str, Any]], list[str]]:
    """Compare the two bases' trees; write results/differences.json."""
    # The series ends below the rig's wiring commit.
    subject = git(old_base.tree, 'log', '-1', '--format=%s', 'HEAD')
    series_rev = 'HEAD~1' if subject == tree.WIRING_SUBJECT else 'HEAD'
    rows = compare(old_base.tree, series_rev, new_base.tree,
                   old_base.definition.api_renames)
    problems = check(rows, listed())
    out = os.path.join(results_dir(), 'differences.json')
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, 'w') as f:
        json.dump({'old': old_base.describe(), 'new': new_base.describe(),
                   'rows': rows, 'problems': problems}, f, indent=1)
    return rows, problems


def report(rows: list[dict[str, Any]], problems: list[str]) -> str:
    width = max((len(r['definition']) for r in rows), default=10)
    lines = [f'  {r["status"]:10} {r["definition"]:<{width}}  {r["file"]}'
             + (f' -> {r["upstream_file"]}' if r['upstream_file'] and
                r['upstream_file'] != r['file'] else '') for r in rows]
    lines += [f'  PROBLEM: {p}' for p in problems]
    return '\n'.join(lines)
