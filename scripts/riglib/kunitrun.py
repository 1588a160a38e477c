"""One profile run: kunit.py build and exec, then the splat gate."""

import hashlib
import os
import re
import shutil
import subprocess
import time
from typing import Sequence

from . import gate, packages, proc, profiles, qemu, report, tree as tree_mod
from .gate import BUILD, Failure
from .summary import Summary
from .util import RigError, cache_dir, git, info, results_dir

BUILD_TIMEOUT = 3600
# kunit.py's own --timeout kills the kernel; this margin covers its start-up
# and parsing, after which the runner kills kunit.py itself.
EXEC_MARGIN = 120


def build_dir(base: tree_mod.Base, profile: profiles.Profile) -> str:
    return os.path.join(cache_dir(), 'build', base.key, profile.name)


def gcov_compiler_dir() -> str:
    """A compiler directory whose libgcov.a does not clash with the kernel.

    GCC >= 7's libgcov.a defines mangle_path(), which fs/seq_file.c defines
    too, so a UML kernel with CONFIG_GCOV does not link. A copy with the
    symbol renamed, found first through the driver's -B prefix, does.
    """
    out = os.path.join(cache_dir(), 'gcov-compiler')
    lib = os.path.join(out, 'libgcov.a')
    if not os.path.exists(lib):
        src = subprocess.run(['gcc', '-print-file-name=libgcov.a'], text=True,
                             stdout=subprocess.PIPE).stdout.strip()
        if not os.path.isfile(src):
            raise RigError('gcc has no libgcov.a: cannot build the coverage profile')
        os.makedirs(out, exist_ok=True)
        res = subprocess.run(['objcopy', '--redefine-sym',
                              'mangle_path=__rig_gcov_mangle_path', src, lib + '.tmp'],
                             stderr=subprocess.PIPE, text=True)
        if res.returncode:
            raise RigError(f'objcopy of {src} failed: {res.stderr.strip()}')
        os.rename(lib + '.tmp', lib)
    return out


def kunit_cmd(tree: str, verb: str, bdir: str, jobs: int | None,
               profile: profiles.Profile | None = None) -> list[str]:
    """kunit.py @verb for @profile's architecture (UML without a profile)."""
    arch = profile.arch if profile is not None else 'um'
    cmd = ['python3', os.path.join(tree, 'tools', 'testing', 'kunit', 'kunit.py'),
           verb, f'--arch={arch}', '--build_dir', bdir]
    if verb != 'build' and profile is not None and profile.qemu_args:
        cmd.append('--qemu_args=' + profile.qemu_args)
    if verb == 'build':
        llvm = profile.llvm if profile is not None else ''
        cc = f'ccache clang{llvm}' if llvm else 'ccache gcc'
        if profile is not None and profile.libgcov_fix:
            cc += f' -B{gcov_compiler_dir()}/'
        cmd += ['--jobs', str(jobs), '--make_options', f'CC={cc}']
        if llvm:
            cmd += ['--make_options', f'LLVM={llvm}']
    return cmd


def build_env(profile: profiles.Profile | None = None) -> dict[str, str]:
    """The environment of a kunit.py command: ccache's directory in the
    cache, a directory of its own for an LLVM profile's objects (they
    would only push GCC's out of a shared one)."""
    env = dict(os.environ)
    ccache = env.get('CCACHE_DIR') or os.path.join(cache_dir(), 'ccache')
    env['CCACHE_DIR'] = ccache + (f'-llvm{profile.llvm}' if profile and profile.llvm else '')
    return env


def exec_env(tree: str, profile: profiles.Profile | None, bdir: str) -> dict[str, str]:
    """The environment of a command that boots @profile's built kernel.

    Under QEMU, that of the accelerator the rig chose (riglib.qemu).
    """
    if profile is None or not profile.qemu:
        return build_env()
    return qemu.env(profile, qemu.kernel_image(tree, profile, bdir), build_env())


def objects_built(bdir: str, since: float) -> int:
    """How many object files under @bdir were written after @since."""
    count = 0
    for root, _, files in os.walk(bdir):
        for name in files:
            if name.endswith('.o'):
                try:
                    if os.stat(os.path.join(root, name)).st_mtime >= since:
                        count += 1
                except OSError:
                    pass
    return count


def logged(cmd: list[str], cwd: str, log: str, timeout: float,
           env: dict[str, str] | None = None, what: str | None = None,
           bdir: str | None = None) -> tuple[int, bool]:
    """proc.run_logged() of a kunit.py command: (returncode, timed out).

    Every proc.HEARTBEAT seconds a line says that @what is still running
    and, for a build in @bdir, how many objects it has written so far.
    """
    wall = time.time()

    def alive(seconds: float) -> str:
        built = f', {objects_built(bdir, wall)} objects written' if bdir else ''
        return f'{what}: {seconds:.0f} s{built}'

    return proc.run_logged(cmd, log, timeout, cwd=cwd, env=env or build_env(),
                           alive=alive if what else None)


def save_console(bdir: str, out: str) -> str:
    """The console of kunit.py's last run in @bdir (its test.log), copied
    to @out; empty if the kernel never started."""
    try:
        with open(os.path.join(bdir, 'test.log'), errors='backslashreplace') as f:
            console = f.read()
    except OSError:
        console = ''
    with open(out, 'w') as f:
        f.write(console)
    return console


def _ktap(console: str) -> str:
    """The KTAP lines of the console log."""
    out: list[str] = []
    started = False
    for raw in console.splitlines():
        line = gate.strip_prefix(raw)
        if not started:
            header = gate.ktap_header(line)
            if header is None:
                continue
            # kunit_parser wants the header alone on its line.
            line, started = header, True
        if re.match(r'^\s*(KTAP version|TAP version|\d+\.\.\d+|ok |not ok |#)', line):
            out.append(line)
    return '\n'.join(out) + '\n'


def fragments(base: tree_mod.Base, profile: profiles.Profile) -> list[str]:
    """The kunitconfig fragments of @profile on @base, in merge order.

    The profile's first fragment is common.config; the base's go right
    after it, so the profile's own can build on them; the profile's
    fragments for this base (fragments.BASE) come last.
    """
    frags = list(profile.fragments)
    return (frags[:1] + base.definition.fragments(profile.arch) + frags[1:]
            + profile.base_fragments.get(base.definition.kernel, []))


def build(base: tree_mod.Base, profile: profiles.Profile, jobs: int, rdir: str,
          summary: Summary | None, tree: str | None = None,
          bdir: str | None = None) -> Failure | None:
    """Build @profile's kernel (log in @rdir); None, or what went wrong.

    In @tree and @bdir if given (the hmm step's worktree), else in the
    base's tree and the profile's build directory. Records build_seconds
    and config_hash in @summary, if given.
    """
    tree = tree or base.tree
    bdir = bdir or build_dir(base, profile)
    os.makedirs(bdir, exist_ok=True)
    if profile.packages:
        packages.ensure(profile.packages)
    cmd = kunit_cmd(tree, 'build', bdir, jobs, profile)
    for frag in fragments(base, profile):
        cmd += ['--kunitconfig', frag]
    log = os.path.join(rdir, 'build.log')
    t0 = time.monotonic()
    rc, timed_out = logged(cmd, tree, log, BUILD_TIMEOUT, build_env(profile),
                            what=f'[{profile.name}] still building', bdir=bdir)
    if summary is not None:
        summary.build_seconds = round(time.monotonic() - t0, 1)
        summary.config_hash = _config_hash(bdir)
    if rc == 0 and not timed_out:
        return None
    _tail(log)
    return Failure(BUILD, 'build timed out' if timed_out else f'build failed: see {log}')


def run_profile(base: tree_mod.Base, profile: profiles.Profile, version: str, jobs: int,
                filter_glob: str | None = None, kernel_args: Sequence[str] = (),
                name: str | None = None, timeout: int | None = None, tree: str | None = None,
                bdir: str | None = None, rebuild: bool = True) -> Summary:
    """Build and run @profile; write results/<name>/ and return the summary.

    @name defaults to the profile's name; @timeout to the profile's. In
    @tree and @bdir if given (a side's worktree), else in the cached tree
    and the profile's build directory; without @rebuild, a kernel built
    there before is booted as it is.
    """
    tree = tree or base.tree
    bdir = bdir or build_dir(base, profile)
    name = name or profile.name
    timeout = timeout or profile.timeout
    rdir = os.path.join(results_dir(), name)
    shutil.rmtree(rdir, ignore_errors=True)
    os.makedirs(rdir)
    os.makedirs(bdir, exist_ok=True)
    summary = Summary(profile=name, kernel_version=version, tree=tree,
                      tree_head=git(tree, 'rev-parse', '--short', 'HEAD'),
                      filter=filter_glob, build_dir=bdir, **base.result_fields())

    if rebuild:
        info(f'[{name}] building ({profile.description})')
        failure = build(base, profile, jobs, rdir, summary, tree=tree, bdir=bdir)
        if failure:
            summary.failures.append(failure)
            report.write(rdir, summary, None, '')
            return summary

    info(f'[{name}] running the tests (timeout {timeout} s)')
    cmd = kunit_cmd(tree, 'exec', bdir, jobs, profile)
    cmd += ['--timeout', str(timeout), '--json=' + os.path.join(rdir, 'kunit.json')]
    for arg in list(profile.kernel_args) + list(kernel_args):
        cmd += ['--kernel_args', arg]
    if filter_glob:
        cmd.append(filter_glob)
    test_log = os.path.join(bdir, 'test.log')
    if os.path.exists(test_log):
        os.unlink(test_log)
    t0 = time.monotonic()
    rc, killed = logged(cmd, tree, os.path.join(rdir, 'kunit.log'),
                         timeout + EXEC_MARGIN, exec_env(tree, profile, bdir),
                         what=f'[{name}] still running the tests')
    summary.run_seconds = round(time.monotonic() - t0, 1)
    with open(os.path.join(rdir, 'kunit.log')) as f:
        kunit_out = f.read()
    timed_out = killed or 'timed out after' in kunit_out or \
        summary.run_seconds >= timeout
    console = save_console(bdir, os.path.join(rdir, 'console.log'))
    why = None
    if timed_out:
        why = 'kunit.py --timeout' if not killed else 'runner killed kunit.py'
    summary = judge(name, rdir, summary, console, why)
    if name_crashed_case(tree, bdir, summary, filter_glob, profile):
        report.write_summary(rdir, summary)
    return summary


def name_crashed_case(tree: str, bdir: str, summary: Summary, filter_glob: str | None = None,
                      profile: profiles.Profile | None = None) -> bool:
    """Name the KUnit case a crash stopped in @summary; True if it changed.

    The gate knows an open parameterized case from the log; of a suite it
    knows only the suite, and the run's @filter_glob says which of its
    cases ran.
    """
    crashed = summary.crashed_in or ''
    if not crashed.endswith(gate.UNREPORTED):
        return False
    case: str | None = crashed[:-len(gate.UNREPORTED)]
    if case and '.' not in case:
        case = crashed_case(tree, bdir, case, summary.results,
                            filter_glob, profile)
    if not case:
        return False
    summary.crashed_in = case
    for splat in summary.splats:
        if splat['test'] == crashed:
            splat['test'] = case
    return True


def list_tests(tree: str, bdir: str, filter_glob: str | None,
               profile: profiles.Profile | None = None) -> list[str]:
    """The "suite.case" names a built kernel runs for @filter_glob, in order."""
    cmd = kunit_cmd(tree, 'exec', bdir, None, profile) + ['--list_tests']
    if filter_glob:
        cmd.append(filter_glob)
    log = os.path.join(bdir, 'list-tests.log')
    _, timed_out = proc.run_logged(cmd, log, 600 if profile is not None and profile.qemu
                                   else 120, cwd=tree, env=exec_env(tree, profile, bdir))
    if timed_out:
        raise RigError(f'listing the tests of {bdir} timed out (log: {log})')
    with open(log, errors='replace') as f:
        return [ln.strip() for ln in f
                if re.match(r'^[^\s.]+\.[^\s.]+$', ln.strip())]


def crashed_case(tree: str, bdir: str, suite: str, reported: Sequence[str],
                 filter_glob: str | None = None,
                 profile: profiles.Profile | None = None) -> str | None:
    """The case of @suite that was running when the kernel stopped.

    KUnit prints a result only after a case, so the one that never reported
    is the first of the suite's cases, in run order, without a result in
    @reported ("suite.case" or "suite.case.param" names); None if the list
    cannot be had.
    """
    done = {'.'.join(t.split('.', 2)[:2]) for t in reported}
    try:
        cases = list_tests(tree, bdir, filter_glob or f'{suite}.*', profile)
    except (OSError, subprocess.SubprocessError):
        return None
    return next((c for c in cases if c.startswith(suite + '.') and c not in done), None)


def judge(name: str, rdir: str, summary: Summary, console: str,
          timeout: str | None = None) -> Summary:
    """Gate @console, complete @summary and write the result files in @rdir.

    @timeout says why the kernel was stopped, if it was.
    """
    with open(os.path.join(rdir, 'ktap.txt'), 'w') as f:
        f.write(_ktap(console))
    expected = gate.load_expected(base=summary.base,
                                  options=gate.kconfig(summary.build_dir))
    verdict = gate.judge(console, expected, timed_out=timeout is not None)
    summary.record(verdict, timeout)
    report.write(rdir, summary, verdict, console)
    report.print_splats(name, verdict)
    return summary


def _config_hash(bdir: str) -> str | None:
    try:
        with open(os.path.join(bdir, '.config'), 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    except OSError:
        return None


def _tail(path: str, n: int = 30) -> None:
    try:
        with open(path, errors='replace') as f:
            lines = f.readlines()
    except OSError:
        return
    print(''.join(lines[-n:]), end='')


def check_kunit_py(tree: str) -> None:
    path = os.path.join(tree, 'tools', 'testing', 'kunit', 'kunit.py')
    if not os.path.isfile(path):
        raise RigError(f'{tree} has no tools/testing/kunit/kunit.py')
