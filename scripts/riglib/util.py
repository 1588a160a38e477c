"""Small helpers shared by the rig's commands: paths, errors, subprocesses."""

import configparser
import os
import subprocess
from typing import Mapping, Sequence, TypeVar

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class RigError(Exception):
    """An error the user can act on; printed without a traceback."""


def read_ini(path: str) -> configparser.ConfigParser:
    """The rig's own .ini file @path, parsed; RigError if it cannot be."""
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path) as f:
            parser.read_file(f)
    except (OSError, configparser.Error) as err:
        raise RigError(f'cannot read {path}: {err}') from err
    return parser


T = TypeVar('T')


def by_name(known: Mapping[str, T], names: Sequence[str], what: str) -> list[T]:
    """The entries of @known called @names, in that order; RigError naming
    the unknown ones and every @what there is."""
    unknown = [n for n in names if n not in known]
    if unknown:
        raise RigError(f'unknown {what} {", ".join(unknown)}; known: {", ".join(known)}')
    return [known[n] for n in names]


def cache_dir() -> str:
    """The rig's cache: kernel trees, build directories and ccache."""
    path = os.environ.get('RIG_CACHE') or os.path.join(
        os.path.expanduser('~'), '.cache', 'two-pass-rig')
    return os.path.abspath(path)


# Results of a base go to results/<base>/; set by the runner per base.
_results_base: str | None = None


def set_results_base(name: str | None) -> None:
    global _results_base
    _results_base = name


def results_root() -> str:
    """results/ ($RIG_RESULTS): one directory per base below it."""
    return os.environ.get('RIG_RESULTS') or os.path.join(REPO, 'results')


def results_dir() -> str:
    root = results_root()
    return os.path.join(root, _results_base) if _results_base else root


def info(msg: str) -> None:
    print(f'rig: {msg}', flush=True)


def run(cmd: Sequence[str], cwd: str | None = None, check: bool = True,
        capture: bool = False, env: dict[str, str] | None = None,
        timeout: float | None = None,
        input: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run @cmd (with @input on its stdin); on failure raise RigError
    naming the command."""
    try:
        res = subprocess.run(cmd, cwd=cwd, env=env, timeout=timeout, text=True,
                             input=input,
                             stdout=subprocess.PIPE if capture else None,
                             stderr=subprocess.PIPE if capture else None)
    except FileNotFoundError as err:
        raise RigError(f'cannot run {cmd[0]}: {err.strerror}') from err
    if check and res.returncode != 0:
        detail = (res.stderr or '').strip() if capture else ''
        raise RigError(f'command failed ({res.returncode}): {" ".join(cmd)}'
                       + (f'\n{detail}' if detail else ''))
    return res


def git(tree: str, *args: str, check: bool = True) -> str:
    """Run git in @tree and return its stdout, stripped."""
    return run(['git', '-C', tree, *args], check=check, capture=True).stdout.strip()


def all_caught(rows: Sequence[tuple[str, bool]], caught: str, missed: str) -> int:
    """The exit status of a run of deliberate bugs: 0 if every (name, caught)
    row was caught, else 1; says which were not, after @missed."""
    bad = [name for name, ok in rows if not ok]
    if bad:
        info(f'{missed}: ' + ', '.join(bad))
        return 1
    info(f'all {len(rows)} {caught}')
    return 0
