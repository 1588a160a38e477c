"""The splat gate: judge a console log (UML or QEMU), not just KUnit's verdicts.

kunit.py reports "ok" for a test that triggered a lockdep report or a
WARN_ON, and lockdep switches itself off for the rest of the boot after its
first report. The gate reads the whole console log and fails on:

  - any kernel splat (see MARKERS), named with the test that was running;
  - an expected splat (configs/expected-splats.ini) that did not fire
    although its test ran;
  - zero tests executed;
  - a KTAP stream that stops before its plan is complete (crash, hang);
  - a timeout, reported by the caller.

Which test was running when a line was printed: KTAP prints a test's result
after the test, so it is the next result line at the depth of the
innermost open "# Subtest:" header. kselftest's harness also prints
"#  RUN  name ..." before each test, which names the test that was running
when the kernel crashed before its result.

Why a KTAP reader of its own rather than kunit.py's kunit_parser (which
the profile runs do use: kunit.py exec parses and writes kunit.json):
the gate attributes every console line to the test running when it was
printed, so that a splat between two result lines is charged to the
right test; kunit_parser gives tests and their log lines, not the raw
console's line positions with the non-KTAP lines (the splats) between
them. It also judges kselftest TAP with the harness's RUN markers (the
userspace boots, hmm-tests) and, for "rig check-log --no-ktap", a plain
dmesg with no test structure at all. And the two bases ship two
kunit_parser versions; the runner imports neither (see riglib.qemu).
"""

import configparser
import os
import re
from dataclasses import dataclass
from typing import Any

from . import bases as basedefs
from .util import REPO, RigError

EXPECTED_INI = os.path.join(REPO, 'configs', 'expected-splats.ini')

# (kind, pattern) in priority order: the first match names a line's kind.
MARKERS = [(kind, re.compile(pat)) for kind, pat in [
    ('kasan', r'BUG: KASAN: '),
    ('kfence', r'BUG: KFENCE: '),
    # KCSAN (the smp profile): "BUG: KCSAN: data-race in a / b", and
    # "assert: race" for ASSERT_EXCLUSIVE_*() annotations.
    ('kcsan', r'BUG: KCSAN: '),
    ('ubsan', r'UBSAN: '),
    # KMSAN (the kmsan profile): "BUG: KMSAN: uninit-value in f".
    ('kmsan', r'BUG: KMSAN: '),
    ('lockdep', r'WARNING: (possible circular locking dependency|possible recursive '
                r'locking|inconsistent lock state|bad unlock balance|held lock '
                r'freed|lock held when returning|possible irq lock inversion|'
                r'suspicious RCU usage|.*lock.*detected)'),
    ('lockdep', r'INFO: (trying to register non-static key|possible irq lock '
                r'inversion|inconsistent lock state)'),
    ('lockdep-off', r'turning off the locking correctness validator|'
                    r'Disabling lock debugging due to kernel taint'),
    ('atomic-sleep', r'BUG: (sleeping function called from invalid context|'
                     r'scheduling while atomic|scheduling in a non-blocking section|'
                     r'workqueue leaked lock)'),
    ('soft-lockup', r'BUG: soft lockup'),
    ('hung-task', r'INFO: task \S+ blocked for more than \d+ seconds'),
    ('rcu-stall', r'rcu: INFO: \S+ (self-)?detected stall|detected stalls on CPUs'),
    ('debugobjects', r'ODEBUG: '),
    ('kmemleak', r'kmemleak: \d+ new suspected memory leak'),
    ('hard-lockup', r'Watchdog detected hard LOCKUP'),
    # x86_64 (the smp profile): a kernel page fault or NULL dereference
    # prints its own BUG line before the Oops.
    ('oops', r'Oops: |general protection fault|kernel BUG at |'
             r'BUG: unable to handle |BUG: kernel NULL pointer dereference'),
    ('msr', r'unchecked MSR access error'),
    # The fake GPU's oracle: a job or GPU read touched a page no page table
    # maps any more (fake-gpu/fake_gpu_access.c).
    ('stale-access', r'fake_gpu: stale GPU access'),
    ('panic', r'Kernel panic - not syncing'),
    ('bug', r'BUG: '),
    ('warning', r'WARNING: '),
]]

# A marker this close after a splat's first line, with no KTAP result in
# between, belongs to the same report (a WARN's "Disabling lock debugging",
# lockdep's "turning off ..." after an INFO, the WARN of an ODEBUG report).
# A WARNING after a WARNING does not: every WARN_ON() is a report of its
# own, counted and matched on its own, so an unexpected warning right after
# an expected one is not swallowed.
REPORT_SPAN = 80
# The sanitizers frame a report between two rules of '='. After its
# closing rule nothing but lockdep switching itself off or a repeat of it
# (below) is part of it: KMSAN reports inside the WARN it interrupts (an
# uninitialised printf argument of the WARN itself), and that WARN,
# printed after the report, is counted and matched on its own.
FRAMED = ('kasan', 'kmsan', 'kcsan', 'kfence')
RULE = re.compile(r'^={20,}\s*$')
# A KMSAN report that starts within REPEAT_GAP lines of the closing rule
# of the one before it, with the same bug and function, in the same test
# and with no other report between, repeats it: a WARN whose printf
# arguments KMSAN cannot see (inline assembly) draws a report per argument
# and per formatting pass, back to back, with the WARN's own message lines
# between them.
REPEAT_GAP = 16
KMSAN_BUG = re.compile(r'BUG: KMSAN: (.+?) in ([\w.]+)\+0x')
# The first line of a WARN_ON() report. 6.12:
#   WARNING: CPU: 0 PID: 1713 at drivers/x.c:164 func+0x36/0x750
# 7.3 (file first, then the function, then CPU and task):
#   WARNING: drivers/x.c:164 at func+0x36/0x750, CPU#0: kunit_try_catch/1713
WARN_SITE = [re.compile(r'^WARNING: CPU: \d+ PID: \d+ at (?P<file>\S+):(?P<line>\d+) '
                        r'(?P<func>[\w.]+)\+0x'),
             re.compile(r'^WARNING: (?P<file>\S+):(?P<line>\d+) at (?P<func>[\w.]+)\+0x')]
CONTEXT_LINES = 8

PREFIX = re.compile(r'^\[\s*\d+\.\d+\]\s?')
RESULT = re.compile(r'^(\s*)(not ok|ok) (\d+)\s*(?:- )?([^#]*?)\s*(?:#\s*(\S+)(.*))?$')
SUBTEST = re.compile(r'^(\s*)# Subtest: (\S+)')
KSFT_RUN = re.compile(r'^#\s+RUN\s+(\S+)\s+\.\.\.')
# running_at()'s suffix for a KTAP test that started but never reported.
UNREPORTED = ' (crashed before its result was printed)'
PLAN = re.compile(r'^(\s*)1\.\.(\d+)\s*$')


def strip_prefix(line: str) -> str:
    return PREFIX.sub('', line.rstrip('\n'))


# The version line that starts a KTAP/TAP document. Under QEMU, init's test
# output and the kernel's printk share one serial console, and a kernel
# message printed while the header is being written lands on its line
# ("TAP version 13input: ImExPS/2 ..." was seen from a late PS/2 probe):
# the header is recognised by how the line starts.
KTAP_HEADER = re.compile(r'^\s*(KTAP version 1|TAP version 1[34])')


def ktap_header(line: str) -> str | None:
    """The KTAP/TAP version line at the start of @line, if it starts with one."""
    m = KTAP_HEADER.match(line)
    return m.group(1) if m else None


class Splat:
    def __init__(self, kind: str, lineno: int, lines: list[str], test: str) -> None:
        self.kind = kind
        self.lineno = lineno      # 1-based line of the first marker
        self.lines = lines        # first lines of the report
        self.test = test          # test running when it fired
        self.also: list[str] = []  # kinds of later markers of the same report
        # A FRAMED report: printing (between its rules), and the index of
        # its latest closing rule.
        self.open = kind in FRAMED
        self.end: int | None = None

    @property
    def closed(self) -> bool:
        """A FRAMED report whose closing rule was printed, and no repeat since."""
        return not self.open and self.end is not None

    def to_json(self) -> dict[str, Any]:
        return {'kind': self.kind, 'line': self.lineno, 'test': self.test,
                'also': self.also, 'first_lines': self.lines}


# Failure kinds: what a reader decides on, never parsed back from messages.
SPLAT = 'splat'                 # an unexpected splat, in .test
EXPECTED = 'expected-missing'   # an expected splat of .test did not fire
TIMEOUT = 'timeout'             # the kernel did not finish in time
NO_KTAP = 'no-ktap'             # no test output at all
CRASH = 'crash'                 # the kernel stopped before every suite reported
NO_TESTS = 'no-tests'           # zero tests ran
TEST = 'test'                   # .test failed
BUILD = 'build'                 # the kernel did not build (the runner's)
# Failures about the test structure, which a plain dmesg does not have.
STRUCTURE = (NO_KTAP, CRASH, NO_TESTS)


@dataclass(frozen=True)
class Failure:
    """One reason a run fails: its kind, the line people read, its test."""
    kind: str
    message: str
    test: str | None = None

    def __str__(self) -> str:
        return self.message

    def to_json(self) -> dict[str, str | None]:
        return {'kind': self.kind, 'message': self.message, 'test': self.test}


class Verdict:
    """Everything the gate found in one console log."""

    def __init__(self) -> None:
        self.tests: list[tuple[str, str]] = []  # (name, status): pass/fail/skip
        self.splats: list[Splat] = []      # unexpected splats
        self.expected: list[Splat] = []    # expected splats that fired
        self.missing: list[str] = []       # tests whose expected splats did not all fire
        self.failures: list[Failure] = []  # one per reason the run fails
        self.complete = False
        # The test running when the log stopped early: a name, or for a
        # KUnit suite whose case is unknown "suite" + UNREPORTED.
        self.crashed_in: str | None = None

    def count(self, status: str) -> int:
        return sum(1 for _, s in self.tests if s == status)

    @property
    def passed(self) -> bool:
        return not self.failures


def warn_site(line: str) -> tuple[str, str] | None:
    """(file, function) of a WARN_ON() report's first line, in either format."""
    for pat in WARN_SITE:
        m = pat.search(line)
        if m:
            return m.group('file'), m.group('func')
    return None


def _same_site(reported: tuple[str, str] | None, wanted: tuple[str, ...]) -> bool:
    """Whether a WARN_ON() at @reported is at @wanted (tree-relative file).

    The kernel strips the source tree from __FILE__ only when the compiler
    saw it absolute: under ccache with CCACHE_BASEDIR (the CI jobs) it sees
    a path relative to the build directory, "../../trees/<tree>/mm/x.c".
    """
    if reported is None:
        return False
    path, func = reported
    return func == wanted[1] and (path == wanted[0] or path.endswith('/' + wanted[0]))


def classify(line: str) -> str | None:
    for kind, pat in MARKERS:
        if pat.search(line):
            return kind
    return None


class _Ktap:
    """Test structure of the log: result lines and the open Subtest stack."""

    def __init__(self, lines: list[str]) -> None:
        # leaf tests: (index, indent, full name, status)
        self.results: list[tuple[int, int, str, str]] = []
        # results of suites/parameterized tests: (index, indent)
        self.closing: list[tuple[int, int]] = []
        # per line: tuple of (indent, name) open
        self.open_at: list[tuple[tuple[int, str], ...]] = []
        self.top_plan: int | None = None
        self.top_results = 0
        self.start: int | None = None  # line of the first KTAP/TAP version line
        self.runs: list[tuple[int, str]] = []  # kselftest "RUN" lines: (index, name)
        stack: list[tuple[int, str]] = []
        marks: list[int] = []     # per open subtest: len(results) when it opened
        started = False
        for i, line in enumerate(lines):
            self.open_at.append(tuple(stack))
            if not started:
                started = ktap_header(line) is not None
                if not started:
                    continue
                self.start = i
            m = KSFT_RUN.match(line)
            if m:
                self.runs.append((i, m.group(1)))
                continue
            m = SUBTEST.match(line)
            if m:
                stack.append((len(m.group(1)), m.group(2)))
                marks.append(len(self.results))
                continue
            m = PLAN.match(line)
            if m and len(m.group(1)) == 0 and self.top_plan is None:
                self.top_plan = int(m.group(2))
                continue
            m = RESULT.match(line)
            if not m:
                continue
            indent = len(m.group(1))
            if indent == 0:
                self.top_results += 1
            if stack and stack[-1][0] > indent:
                # A suite's or parameterized test's own result. One with no
                # results inside (a parameterized test with no parameters,
                # such as xe's live tests without a device) is a test itself.
                stack.pop()
                self.closing.append((i, indent))
                if marks.pop() != len(self.results):
                    continue
            directive = (m.group(5) or '').upper()
            if directive == 'SKIP':
                status = 'skip'
            elif m.group(2) == 'ok':
                status = 'pass'
            else:
                status = 'fail'
            name = '.'.join([n for _, n in stack] + [m.group(4)])
            self.results.append((i, indent, name, status))
        self.open_end = tuple(stack)  # subtests still open when the log ends

    def running_at_end(self) -> str:
        """Name of the test running when the log stopped."""
        if not self.open_end:
            return self.running_at(len(self.open_at))
        # Its last line may be a result: the test running is a later one.
        return '.'.join(n for _, n in self.open_end) + UNREPORTED

    def running_at(self, index: int) -> str:
        """Name of the test running when line @index was printed."""
        stack = self.open_at[index] if index < len(self.open_at) else ()
        if not stack:
            # Flat TAP (kselftest): the last test that said RUN, unless its
            # result came before @index.
            run = next((r for r in reversed(self.runs) if r[0] <= index), None)
            if run is not None and not any(run[0] < r[0] < index and r[1] == 0 and
                                           r[2] == run[1] for r in self.results):
                return run[1]
            # Otherwise its tests are results at indent 0, and the one
            # running is the next of them.
            nxt = next((r for r in self.results if r[0] > index and r[1] == 0), None)
            if nxt is not None and self.start is not None and index > self.start:
                return nxt[2]
            if not self.results or index < self.results[0][0]:
                return 'boot'
            return 'shutdown' if index > self.results[-1][0] else 'between suites'
        depth = stack[-1][0]
        prefix = '.'.join(n for _, n in stack)
        end = next((i for i, indent in self.closing if i > index and indent < depth), None)
        for i, indent, name, _ in self.results:
            if end is not None and i > end:
                break
            if i > index and indent == depth and name.startswith(prefix + '.'):
                return name
        if end is not None:
            return f'{prefix} (suite init or exit)'
        return prefix + UNREPORTED


class Expected:
    """A splat a test provokes on purpose: @minimum to @count of them fire."""

    def __init__(self, test: str, kind: str, pattern: re.Pattern[str], count: int = 1,
                 site: tuple[str, ...] | None = None, stack: str | None = None,
                 minimum: int | None = None) -> None:
        self.test = test
        self.kind = kind
        self.pattern = pattern    # compiled regex over the first line
        self.count = count        # at most this many fire
        self.minimum = count if minimum is None else minimum  # at least this many
        self.site = site          # (file, function) of a warning, or None
        self.stack = stack        # a function the report's first lines name, or None

    def matches(self, splat: Splat) -> bool:
        if splat.test != self.test or splat.kind != self.kind:
            return False
        if self.site and not _same_site(warn_site(splat.lines[0]), self.site):
            return False
        if self.stack and not any(_calls(line, self.stack) for line in splat.lines[1:]):
            return False
        return bool(self.pattern.search(splat.lines[0]))

    def describe(self) -> str:
        where = f' at {self.site[0]} {self.site[1]}()' if self.site else ''
        many = str(self.count) if self.minimum == self.count else \
            f'{self.minimum} to {self.count}'
        return f'{many} {self.kind} splat(s){where} in {self.test}'


def _count(value: str) -> tuple[int, int]:
    """(minimum, maximum) of a count entry: "N" or "MIN-MAX"; (-1, -1) if neither."""
    m = re.fullmatch(r'\s*(\d+)\s*(?:-\s*(\d+)\s*)?', value)
    if not m:
        return -1, -1
    return int(m.group(1)), int(m.group(2) or m.group(1))


def _calls(line: str, func: str) -> bool:
    """Whether the stack trace line @line is a frame of @func."""
    return re.match(rf'\s*{re.escape(func)}\+0x', line) is not None


def kconfig(build_dir: str | None) -> set[str]:
    """The options set to y (not m) in @build_dir's .config; none without one."""
    return kconfig_file(os.path.join(build_dir, '.config')) if build_dir else set()


def kconfig_file(path: str) -> set[str]:
    """The options set to y (not m) in the kernel configuration @path."""
    try:
        with open(path, encoding='utf-8') as f:
            return {ln.split('=', 1)[0] for ln in f if ln.rstrip().endswith('=y')}
    except OSError:
        return set()


def load_expected(path: str = EXPECTED_INI, base: str | None = None,
                  options: set[str] | None = None) -> list[Expected]:
    """Expected splats of @base (all bases if None) in a kernel with @options.

    A section is named for its test ("suite.case", or "suite.case @ tag" to
    give a test several entries) and has kind, match (a regex over the
    first line), and optionally bases (default: all; a variant base takes
    the entries of the base it is a variant of), count (default 1; or
    "MIN-MAX" for a report that fires on some boots only, MIN may be 0),
    config (kernel options, all set in @options, for a splat only a
    detector reports: "CONFIG_KMSAN"; without @options such an entry is
    left out), stack (a function that must be a frame in the report's
    first lines) and, for warnings, site = FILE FUNCTION, which matches
    the WARN_ON()'s location in both the 6.12 and the 7.3 first-line
    formats.

    A missing or empty file is an error: without its entries every
    warning a test provokes on purpose would be reported as a dozen
    unexpected splats, with nothing pointing at the file.
    """
    parser = configparser.ConfigParser(interpolation=None)
    if not os.path.isfile(path):
        raise RigError(f'the allowlist of expected splats {path} is missing')
    wanted = set(basedefs.answers_to(base)) if base is not None else None
    out = []
    try:
        parser.read(path)
        for name in parser.sections():
            sec = parser[name]
            bases = sec.get('bases', '').split()
            if wanted is not None and bases and not wanted & set(bases):
                continue
            needs = set(sec.get('config', '').split())
            if needs and not needs <= (options or set()):
                continue
            site = sec.get('site', '').split()
            if site and len(site) != 2:
                raise RigError(f'{path}: [{name}]: site is "FILE FUNCTION"')
            minimum, count = _count(sec.get('count', '1'))
            if count < 1 or not 0 <= minimum <= count:
                raise RigError(f'{path}: [{name}]: count is N or MIN-MAX, '
                               'N and MAX at least 1, MIN at most MAX')
            out.append(Expected(name.split(' @ ')[0].strip(), sec['kind'],
                                re.compile(sec.get('match', '')), count,
                                tuple(site) if site else None, sec.get('stack') or None,
                                minimum))
        if not parser.sections():
            raise RigError(f'the allowlist of expected splats {path} has no entries')
    except (KeyError, ValueError, re.error, configparser.Error) as err:
        raise RigError(f'{path}: {err}') from err
    return out


def _repeats(kind: str, line: str, index: int, last: Splat) -> bool:
    """Whether a report of @kind at line @index (@line) repeats the splat @last."""
    if kind != 'kmsan' or last.kind != kind or last.end is None or \
            index - last.end > REPEAT_GAP or \
            any(k not in (kind, 'lockdep-off') for k in last.also):
        return False
    bug, before = KMSAN_BUG.search(line), KMSAN_BUG.search(last.lines[0])
    return bug is not None and before is not None and bug.groups() == before.groups()


def judge(text: str, expected: list[Expected] | None = None,
          timed_out: bool = False) -> Verdict:
    """Judge the console log @text; return a Verdict."""
    if expected is None:
        expected = load_expected()
    lines = [strip_prefix(ln) for ln in text.splitlines()]
    ktap = _Ktap(lines)
    verdict = Verdict()
    verdict.tests = [(name, status) for _, _, name, status in ktap.results]

    result_lines = {i for i, _, _, _ in ktap.results}
    splats: list[Splat] = []
    for i, line in enumerate(lines):
        kind = classify(line)
        last = splats[-1] if splats else None
        if not kind:
            if last is not None and last.open and RULE.match(line):
                last.open, last.end = False, i
            continue
        same_test = last is not None and not any(last.lineno - 1 < r < i
                                                 for r in result_lines)
        # Lockdep switching off is the consequence of the report before it,
        # however long that report was.
        if last is not None and same_test and (kind == 'lockdep-off' or
                          _repeats(kind, line, i, last) or
                          (not (kind == last.kind == 'warning') and not last.closed and
                           i - (last.lineno - 1) <= REPORT_SPAN)):
            last.also.append(kind)
            if kind in FRAMED:
                last.open = True
            continue
        context = [ln for ln in lines[i:i + CONTEXT_LINES * 2] if ln.strip()][:CONTEXT_LINES]
        splats.append(Splat(kind, i + 1, context, ktap.running_at(i)))

    ran = {name for name, _ in verdict.tests}
    fired = [0] * len(expected)
    for splat in splats:
        # Beyond its count an expected splat is an unexpected one.
        match = next((k for k, e in enumerate(expected)
                      if e.matches(splat) and fired[k] < e.count), None)
        if match is not None:
            fired[match] += 1
            verdict.expected.append(splat)
        else:
            verdict.splats.append(splat)
    for splat in verdict.splats:
        verdict.failures.append(Failure(SPLAT, f'{splat.kind} splat in {splat.test} '
                                        f'(console line {splat.lineno}): {splat.lines[0]}',
                                        splat.test))
    for e, n in zip(expected, fired):
        if e.test in ran and n < e.minimum:
            verdict.missing.append(e.test)
            verdict.failures.append(Failure(EXPECTED, f'expected {e.describe()}, {n} fired'
                                            + (f' (/{e.pattern.pattern}/)'
                                               if e.pattern.pattern else ''), e.test))

    verdict.complete = ktap.top_plan is not None and ktap.top_results >= ktap.top_plan
    if timed_out:
        verdict.failures.append(Failure(TIMEOUT, 'timeout: the kernel did not finish in time'))
    elif ktap.top_plan is None:
        verdict.failures.append(Failure(NO_KTAP, 'no KTAP output: the kernel crashed or '
                                        'went silent before the tests started'))
    elif not verdict.complete:
        last_test = verdict.tests[-1][0] if verdict.tests else 'none'
        verdict.failures.append(Failure(
            CRASH, f'kernel crashed or went silent: {ktap.top_results} of {ktap.top_plan} '
            f'suites reported; last test result: {last_test}'))
    if timed_out or (ktap.top_plan is not None and not verdict.complete):
        verdict.crashed_in = ktap.running_at_end()
    if verdict.count('pass') + verdict.count('fail') == 0:
        verdict.failures.append(Failure(NO_TESTS, 'zero tests ran'))
    for name, status in verdict.tests:
        if status == 'fail':
            verdict.failures.append(Failure(TEST, f'test failed: {name}', name))
    return verdict
