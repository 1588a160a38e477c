"""The splat gate over recorded console logs.

logs/clean.log and logs/clean-7.3.log are consoles of real debug-profile
runs of the core suite on the 6.12 and the upstream (7.3) base.
logs/splats/*.txt are kernel reports in the formats 6.12 prints; each test
splices one into the clean log inside a chosen test, so the gate must both
fail the run and name that test. 7.3 changed the first line of a WARN_ON()
report; the Warnings cases check both formats.
"""

import glob
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

from riglib import gate, kunitrun
from riglib.util import RigError, cache_dir

LOGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'logs')
SUITE = 'mmu_interval_two_pass'
RULE9 = f'{SUITE}.tp_test_start_without_finish_warns'
WARN_612 = 'WARNING: CPU: 0 PID: 48 at drivers/gpu/drm/xe/xe_rtp.c:164 rule_match_and+0x366/0x750'
WARN_73 = ('WARNING: drivers/gpu/drm/xe/xe_rtp.c:164 at rule_match_and+0x366/0x750, '
           'CPU#0: kunit_try_catch/1713')


def read(name):
    with open(os.path.join(LOGS, name)) as f:
        return f.read()


def splice(log, snippet, before_result_of):
    """Insert @snippet right before the KTAP result line of test @before_result_of."""
    lines = log.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if re.match(rf'^\s+(not )?ok \d+ {re.escape(before_result_of)}$', line.rstrip('\n')):
            return ''.join(lines[:i]) + snippet + ''.join(lines[i:])
    raise AssertionError(f'no result line for {before_result_of} in the log')


def rule9_warning(log):
    """(start, end) of the WARN report that rule 9's test provokes on purpose."""
    start = log.index('------------[ cut here ]------------')
    end = log.index('---[ end trace', start)
    return start, log.index('\n', end) + 1


def without_rule9_warning(log):
    """The clean log minus the WARN that rule 9's test provokes on purpose."""
    start, end = rule9_warning(log)
    return log[:start] + log[end:]


class CleanLog:
    """The gate over one base's clean log; subclasses name the log and base."""
    LOG = BASE = None

    def setUp(self):
        self.log = read(self.LOG)

    def judge(self, log, **kw):
        return gate.judge(log, gate.load_expected(base=self.BASE), **kw)

    def test_clean_log_passes(self):
        v = self.judge(self.log)
        self.assertEqual(v.failures, [])
        self.assertTrue(v.passed)
        self.assertGreaterEqual(v.count('pass'), 12)
        self.assertEqual(v.count('fail'), 0)
        self.assertTrue(v.complete)

    def test_expected_splat_is_accepted_only_in_its_test(self):
        v = self.judge(self.log)
        self.assertEqual([s.test for s in v.expected], [RULE9])
        self.assertEqual(v.splats, [])

    def test_missing_expected_splat_fails(self):
        v = self.judge(without_rule9_warning(self.log))
        self.assertFalse(v.passed)
        self.assertIn(f'expected 1 warning splat(s) at mm/mmu_notifier.c '
                      f'mmu_interval_notifier_insert() in {RULE9}, 0 fired', str(v.failures[0]))
        self.assertEqual(v.missing, [RULE9])

    def test_expected_warning_twice_is_once_too_many(self):
        start, end = rule9_warning(self.log)
        v = self.judge(self.log[:end] + self.log[start:])
        self.assertFalse(v.passed)
        self.assertEqual(len(v.expected), 1)
        self.assertEqual([(s.kind, s.test) for s in v.splats], [('warning', RULE9)])

    def test_expected_splat_in_another_test_fails(self):
        warn = read('splats/warning.txt')
        log = splice(self.log, warn, 'tp_test_finish_order')
        v = self.judge(log)
        self.assertFalse(v.passed)
        self.assertEqual([(s.kind, s.test) for s in v.splats],
                         [('warning', f'{SUITE}.tp_test_finish_order')])

    def test_other_warning_in_the_expected_test_fails(self):
        log = re.sub(r'(?m)^(WARNING: .*)\bmmu_interval_notifier_insert\+',
                     r'\1mn_itree_release+', self.log)
        self.assertNotEqual(log, self.log)
        v = self.judge(log)
        self.assertFalse(v.passed)
        self.assertEqual([(s.kind, s.test) for s in v.splats], [('warning', RULE9)])

    def test_timeout_fails(self):
        v = self.judge(self.log, timed_out=True)
        self.assertFalse(v.passed)
        self.assertIn('timeout', str(v.failures[0]))

    def test_failed_test_fails(self):
        log = re.sub(r'(?m)^(\s+)ok (\d+) tp_test_finish_order$',
                     r'\1not ok \2 tp_test_finish_order', self.log)
        v = self.judge(log)
        self.assertFalse(v.passed)
        self.assertIn(f'test failed: {SUITE}.tp_test_finish_order', [str(f) for f in v.failures])


class CleanLog612(CleanLog, unittest.TestCase):
    LOG, BASE = 'clean.log', '6.12'


class CleanLogUpstream(CleanLog, unittest.TestCase):
    LOG, BASE = 'clean-7.3.log', 'upstream'

    def test_rule9_warning_has_the_7_3_format(self):
        v = self.judge(self.log)
        self.assertRegex(v.expected[0].lines[0],
                         r'^WARNING: mm/mmu_notifier\.c:\d+ at mmu_interval_notifier_insert')


class Warnings(unittest.TestCase):
    """Both first-line formats of WARN_ON(), counted one report each."""

    def rtp_log(self, first_lines):
        body = ''.join(f'------------[ cut here ]------------\n{ln}\nModules linked in:\n'
                       '---[ end trace 0000000000000000 ]---\n' for ln in first_lines)
        return ('KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: xe_rtp\n'
                '    1..1\n' + body + '    ok 1 case\nok 1 xe_rtp\n')

    def expected(self, count):
        return [gate.Expected('xe_rtp.case', 'warning', re.compile(''), count,
                              ('drivers/gpu/drm/xe/xe_rtp.c', 'rule_match_and'))]

    def test_site_of_both_formats(self):
        for line in (WARN_612, WARN_73):
            self.assertEqual(gate.warn_site(line),
                             ('drivers/gpu/drm/xe/xe_rtp.c', 'rule_match_and'))
        self.assertIsNone(gate.warn_site('WARNING: possible circular locking dependency'))

    def test_each_warning_is_a_report_of_its_own(self):
        v = gate.judge(self.rtp_log([WARN_73, WARN_612, WARN_73]), [])
        self.assertEqual([s.kind for s in v.splats], ['warning'] * 3)
        self.assertEqual({s.test for s in v.splats}, {'xe_rtp.case'})

    def test_count_is_exact(self):
        log = self.rtp_log([WARN_73, WARN_73])
        self.assertTrue(gate.judge(log, self.expected(2)).passed)
        v = gate.judge(log, self.expected(1))
        self.assertEqual((len(v.expected), len(v.splats)), (1, 1))
        v = gate.judge(log, self.expected(3))
        self.assertFalse(v.passed)
        self.assertIn('2 fired', str(v.failures[0]))

    def test_other_site_is_unexpected(self):
        other = WARN_73.replace('rule_match_and', 'rule_matches')
        v = gate.judge(self.rtp_log([WARN_73, other]), self.expected(2))
        self.assertFalse(v.passed)
        self.assertEqual([s.lines[0] for s in v.splats], [other])

    def test_site_of_a_relative_build_path(self):
        # ccache's CCACHE_BASEDIR (the CI jobs) makes __FILE__ relative.
        rel = WARN_73.replace('drivers/', '../../../trees/linux-x/drivers/')
        self.assertTrue(gate.judge(self.rtp_log([rel]), self.expected(1)).passed)
        # Only a whole path component: "xdrivers/..." is another file.
        other = WARN_73.replace('drivers/', '../xdrivers/')
        self.assertFalse(gate.judge(self.rtp_log([other]), self.expected(1)).passed)

    def test_entries_are_per_base(self):
        ini = gate.EXPECTED_INI
        up = {e.test for e in gate.load_expected(ini, base='upstream')}
        old = {e.test for e in gate.load_expected(ini, base='6.12')}
        self.assertIn(RULE9, up & old)
        self.assertIn('xe_rtp.xe_rtp_process_to_sr_tests.match-or-xfail', old - up)

    def test_a_missing_or_empty_allowlist_is_an_error_naming_it(self):
        with tempfile.TemporaryDirectory() as tmp:
            ini = os.path.join(tmp, 'expected-splats.ini')
            with self.assertRaisesRegex(RigError, f'{ini} is missing'):
                gate.load_expected(ini, base='upstream')
            with open(ini, 'w') as f:
                f.write('# nothing\n')
            with self.assertRaisesRegex(RigError, f'{ini} has no entries'):
                gate.load_expected(ini, base='upstream')

    def test_a_variant_takes_its_kernels_entries(self):
        # upstream-rfc runs upstream's 7.3 (variant_of): xe's RTP tests
        # warn there as on upstream, and the 6.12 entries stay out.
        ini = gate.EXPECTED_INI
        up = {e.test for e in gate.load_expected(ini, base='upstream')}
        rfc = {e.test for e in gate.load_expected(ini, base='upstream-rfc')}
        self.assertIn('xe_rtp.xe_rtp_rules_tests.or', rfc)
        self.assertEqual(up, rfc)


class Splats(unittest.TestCase):
    """Each kind of report fails the run and is named with its test."""

    CASES = [
        ('lockdep-circular.txt', 'lockdep', 'tp_test_finish_null_on_entry'),
        ('kasan-uaf.txt', 'kasan', 'tp_test_finish_order'),
        ('ubsan.txt', 'ubsan', 'tp_test_single_pass_unchanged'),
        ('warning.txt', 'warning', 'tp_test_nonblock_success'),
        ('atomic-sleep.txt', 'atomic-sleep', 'tp_test_nonblock_eagain'),
        ('hung-task.txt', 'hung-task', 'tp_test_racing_invalidations'),
        ('rcu-stall.txt', 'rcu-stall', 'tp_test_release_walk'),
        ('lockdep-off.txt', 'lockdep', 'tp_test_read_begin_waits_for_finish'),
        ('debugobjects.txt', 'debugobjects', 'tp_test_remove_waits_for_finish'),
        ('oops-panic.txt', 'panic', 'tp_test_finish_after_every_start'),
        # x86_64 reports of the smp profile.
        ('kcsan-data-race.txt', 'kcsan', 'tp_test_racing_invalidations'),
        # Recorded from the "kmsan" canary (the kmsan profile, 7.3.4).
        ('kmsan-7.3.txt', 'kmsan', 'tp_test_finish_order'),
        ('x86-page-fault.txt', 'oops', 'tp_test_finish_order'),
    ]

    def test_each_splat_fails_and_names_its_test(self):
        clean = read('clean.log')
        for snippet, kind, test in self.CASES:
            with self.subTest(snippet=snippet):
                v = gate.judge(splice(clean, read(f'splats/{snippet}'), test))
                self.assertFalse(v.passed)
                self.assertEqual(len(v.splats), 1, v.splats and v.splats[0].to_json())
                self.assertEqual(v.splats[0].kind, kind)
                self.assertEqual(v.splats[0].test, f'{SUITE}.{test}')
                self.assertIn(str(v.failures[0]).split(' splat')[0], kind)

    def test_ubsan_report_of_73_with_what_kunit_draws(self):
        # Recorded from the "ubsan" canary under UML: KUnit's failure hook
        # allocates inside the report, under the canary's spinlock, which
        # draws a lockdep report in the middle of UBSAN's and then an
        # atomic-sleep one. UBSAN's comes first and names the kind.
        v = gate.judge(splice(read('clean.log'), read('splats/ubsan-7.3.txt'),
                              'tp_test_finish_order'))
        self.assertFalse(v.passed)
        self.assertEqual([s.kind for s in v.splats], ['ubsan', 'atomic-sleep'])
        self.assertIn('lockdep', v.splats[0].also)
        self.assertEqual(v.splats[0].test, f'{SUITE}.tp_test_finish_order')

    def test_lockdep_turning_itself_off_is_reported(self):
        v = gate.judge(splice(read('clean.log'), read('splats/lockdep-off.txt'),
                              'tp_test_finish_order'))
        self.assertIn('lockdep-off', v.splats[0].also)

    def test_long_report_then_lockdep_off_is_one_splat(self):
        kasan = read('splats/kasan-uaf.txt')
        long_stack = ''.join(f' [<6004e5e4>] ? frame_{i}+0x6a/0xa0\n' for i in range(150))
        kasan = kasan.replace('Call Trace:\n', 'Call Trace:\n' + long_stack)
        v = gate.judge(splice(read('clean.log'), kasan, 'tp_test_finish_order'))
        self.assertEqual([s.kind for s in v.splats], ['kasan'])
        self.assertIn('lockdep-off', v.splats[0].also)

    def test_splat_at_boot_is_attributed_to_boot(self):
        clean = read('clean.log')
        i = clean.index('KTAP version 1')
        v = gate.judge(clean[:i] + read('splats/warning.txt') + clean[i:])
        self.assertFalse(v.passed)
        self.assertEqual(v.splats[0].test, 'boot')


class KmsanInsideAWarn(unittest.TestCase):
    """KMSAN reporting the printf arguments of a WARN it interrupts.

    Recorded from the kmsan profile on 7.3.4 (no_relay's
    xe_rejects_send_if_not_ready): four KMSAN reports in vsnprintf, under
    __report_bug(), over about 110 lines, then the WARN they interrupted.
    """
    TEST = f'{SUITE}.tp_test_finish_order'
    WARN_SITE = ('drivers/gpu/drm/xe/xe_guc_relay.c', 'xe_guc_relay_send_to_pf')

    def judge(self, expected, snippet=None):
        snippet = snippet or read('splats/kmsan-warn-args-7.3.txt')
        log = splice(read('clean-7.3.log'), snippet, 'tp_test_finish_order')
        rule9 = [e for e in gate.load_expected(base='upstream') if e.test == RULE9]
        return gate.judge(log, rule9 + expected)

    def kmsan(self, stack='__report_bug'):
        return gate.Expected(self.TEST, 'kmsan', re.compile(r'uninit-value in vsnprintf\b'),
                             stack=stack)

    def warning(self):
        return gate.Expected(self.TEST, 'warning', re.compile(''), site=self.WARN_SITE)

    def test_the_reports_are_one_splat_and_the_warn_its_own(self):
        v = self.judge([])
        self.assertEqual([(s.kind, s.test) for s in v.splats],
                         [('kmsan', self.TEST), ('warning', self.TEST)])
        # The fourth report starts 83 lines after the first: a repeat, not
        # a new splat, although beyond REPORT_SPAN.
        self.assertEqual(v.splats[0].also, ['kmsan'] * 3)
        self.assertEqual(gate.warn_site(v.splats[1].lines[0]), self.WARN_SITE)

    def test_both_expected_pass(self):
        v = self.judge([self.kmsan(), self.warning()])
        self.assertTrue(v.passed, [str(f) for f in v.failures])
        self.assertEqual(len(v.expected), 3)

    def test_the_warn_is_not_swallowed_by_the_report(self):
        v = self.judge([self.kmsan()])
        self.assertEqual([s.kind for s in v.splats], ['warning'])

    def test_stack_must_name_a_frame(self):
        v = self.judge([self.kmsan(stack='handle_mm_fault'), self.warning()])
        self.assertEqual([s.kind for s in v.splats], ['kmsan'])
        self.assertIn(self.TEST, v.missing)
        # A frame, not a substring of one: "report_bug" is not __report_bug.
        v = self.judge([self.kmsan(stack='report_bug'), self.warning()])
        self.assertFalse(v.passed)

    def test_a_different_function_is_a_new_splat(self):
        snippet = read('splats/kmsan-warn-args-7.3.txt')
        last = snippet.rindex('BUG: KMSAN: uninit-value in vsnprintf')
        snippet = snippet[:last] + snippet[last:].replace('in vsnprintf+', 'in other+', 1)
        v = self.judge([self.kmsan(), self.warning()], snippet)
        self.assertEqual([s.lines[0].split(' in ')[1] for s in v.splats],
                         ['other+0xfef/0x15b0'])

    def reports(self):
        """The fixture's lines: the cut-here line, then one list per report."""
        lines = read('splats/kmsan-warn-args-7.3.txt').splitlines(keepends=True)
        starts = [i for i, ln in enumerate(lines) if ln.startswith('BUG: KMSAN')]
        return lines, starts

    def test_a_warn_right_after_a_closed_report_is_its_own(self):
        # Two reports, then the WARN: within REPORT_SPAN of the first
        # report's line, but after its closing rule.
        lines, starts = self.reports()
        warn = next(i for i, ln in enumerate(lines) if ln.startswith('WARNING:'))
        snippet = ''.join(lines[:starts[2] - 1] + lines[warn:])
        self.assertLess(warn - (starts[2] - 1) + starts[0], gate.REPORT_SPAN)
        v = self.judge([], snippet)
        self.assertEqual([s.kind for s in v.splats], ['kmsan', 'warning'])
        self.assertTrue(self.judge([self.kmsan(), self.warning()], snippet).passed)

    def test_another_report_between_ends_the_repeats(self):
        # A report of another kind inside the first: the next KMSAN report
        # is a splat of its own, with its repeats.
        lines, starts = self.reports()
        sleep = 'BUG: sleeping function called from invalid context at mm/x.c:1\n'
        snippet = ''.join(lines[:starts[0] + 1] + [sleep] + lines[starts[0] + 1:])
        v = self.judge([], snippet)
        self.assertEqual([(s.kind, s.also) for s in v.splats],
                         [('kmsan', ['atomic-sleep']), ('kmsan', ['kmsan', 'kmsan']),
                          ('warning', [])])

    def test_a_report_far_from_the_one_before_is_no_repeat(self):
        lines, starts = self.reports()
        filler = [f'drm-kunit-mock-device: line {k}\n' for k in range(gate.REPEAT_GAP)]
        snippet = ''.join(lines[:starts[1] - 1] + filler + lines[starts[1] - 1:])
        v = self.judge([], snippet)
        self.assertEqual([(s.kind, s.also) for s in v.splats],
                         [('kmsan', []), ('kmsan', ['kmsan', 'kmsan']), ('warning', [])])

    def test_another_bug_in_the_function_is_no_repeat(self):
        lines, starts = self.reports()
        lines[starts[1]] = lines[starts[1]].replace('uninit-value', 'kernel-infoleak')
        v = self.judge([], ''.join(lines))
        self.assertEqual([s.lines[0].split(': ')[2].split(' in ')[0] for s in v.splats[:3]],
                         ['uninit-value', 'kernel-infoleak', 'uninit-value'])

    def test_kmsan_entries_need_a_kmsan_kernel(self):
        def tests(options):
            return {(e.test, e.kind) for e in gate.load_expected(base='upstream',
                                                                 options=options)}
        entry = ('guc_idm.no_init', 'kmsan')
        self.assertIn(entry, tests({'CONFIG_KMSAN', 'CONFIG_KUNIT'}))
        self.assertNotIn(entry, tests({'CONFIG_KUNIT'}))
        self.assertNotIn(entry, tests(None))
        self.assertIn(('guc_idm.no_init', 'warning'), tests(None))

    def test_a_report_some_boots_draw_may_be_absent(self):
        # What the boot with no report looks like: the WARN alone.
        snippet = read('splats/kmsan-warn-args-7.3.txt')
        warn = snippet[snippet.index('WARNING: drivers/gpu'):]
        maybe = gate.Expected(self.TEST, 'kmsan', re.compile('vsnprintf'), minimum=0)
        self.assertTrue(self.judge([maybe, self.warning()], warn).passed)
        self.assertTrue(self.judge([maybe, self.warning()]).passed)
        v = self.judge([self.kmsan(), self.warning()], warn)
        self.assertEqual(v.missing, [self.TEST])
        self.assertIn('expected 1 kmsan splat(s)', str(v.failures[0]))

    def test_count_is_n_or_a_range(self):
        with tempfile.TemporaryDirectory() as tmp:
            ini = os.path.join(tmp, 'expected-splats.ini')
            for count, want in (('2', (2, 2)), ('0-1', (0, 1)), ('1-3', (1, 3))):
                with open(ini, 'w') as f:
                    f.write(f'[a.b]\nkind = kmsan\ncount = {count}\n')
                e = gate.load_expected(ini)[0]
                self.assertEqual((e.minimum, e.count), want)
            for count in ('0', '2-1', 'x', '0-0', '-1'):
                with self.subTest(count=count):
                    with open(ini, 'w') as f:
                        f.write(f'[a.b]\nkind = kmsan\ncount = {count}\n')
                    with self.assertRaisesRegex(RigError, r'\[a\.b\]|count'):
                        gate.load_expected(ini)
        e = gate.Expected('a.b', 'kmsan', re.compile(''), count=1, minimum=0)
        self.assertEqual(e.describe(), '0 to 1 kmsan splat(s) in a.b')

    def test_kconfig_reads_the_options_set(self):
        with tempfile.TemporaryDirectory() as bdir:
            self.assertEqual(gate.kconfig(bdir), set())
            with open(os.path.join(bdir, '.config'), 'w') as f:
                f.write('CONFIG_KMSAN=y\n# CONFIG_KASAN is not set\nCONFIG_NR_CPUS=2\n'
                        'CONFIG_X=m\n')
            self.assertEqual(gate.kconfig(bdir), {'CONFIG_KMSAN'})


class BrokenRuns(unittest.TestCase):
    def test_zero_tests_fails(self):
        v = gate.judge(read('zero-tests.log'))
        self.assertFalse(v.passed)
        self.assertIn('zero tests ran', [str(f) for f in v.failures])

    def test_truncated_log_fails(self):
        clean = read('clean.log')
        cut = clean.index('ok 7 tp_test_racing_invalidations')
        v = gate.judge(clean[:cut])
        self.assertFalse(v.passed)
        self.assertTrue(any('crashed or went silent' in f for f in map(str, v.failures)), v.failures)

    def test_crash_in_a_test_names_it(self):
        clean = read('clean.log')
        cut = clean.index('    ok 7 tp_test_racing_invalidations')
        v = gate.judge(clean[:cut] + read('splats/oops-panic.txt'))
        self.assertFalse(v.passed)
        self.assertEqual(v.splats[0].kind, 'panic')
        self.assertIn('crashed before its result', v.splats[0].test)
        # The case is unknown from the log alone: the suite is.
        self.assertEqual(v.crashed_in, 'mmu_interval_two_pass' + gate.UNREPORTED)

    def test_crash_inside_a_parameterized_case_names_the_case(self):
        log = ('KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n'
               '    1..2\n    ok 1 a\n        KTAP version 1\n'
               '        # Subtest: b\n        ok 1 p0\n' + read('splats/oops-panic.txt'))
        v = gate.judge(log)
        self.assertEqual(v.crashed_in, 's.b' + gate.UNREPORTED)

    def test_crash_right_after_a_result_is_not_that_test(self):
        # The kernel died (or was killed) with a case's result as its last
        # line: that case is done, the suite's next one was running.
        log = ('KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n'
               '    1..3\n    ok 1 a\n        KTAP version 1\n'
               '        # Subtest: b\n        ok 1 p0\n    ok 2 b\n')
        self.assertEqual(gate.judge(log, timed_out=True).crashed_in, 's' + gate.UNREPORTED)

    def test_complete_log_names_no_crash(self):
        self.assertIsNone(gate.judge(read('clean.log')).crashed_in)

    def test_empty_log_fails(self):
        v = gate.judge('')
        self.assertFalse(v.passed)
        self.assertIn('no KTAP output', ' '.join(map(str, v.failures)))


# xe's live tests are parameterized over the PCI devices found; under UML
# there are none, so each is an empty parameterized test that reports its
# own SKIP (console of the xe profile, 6.12.117).
EMPTY_PARAMS = """\
KTAP version 1
1..2
    KTAP version 1
    # Subtest: xe_mocs
    # module: xe
    1..2
        KTAP version 1
        # Subtest: xe_live_mocs_kernel_kunit
    ok 1 xe_live_mocs_kernel_kunit # SKIP 
        KTAP version 1
        # Subtest: xe_live_mocs_reset_kunit
    ok 2 xe_live_mocs_reset_kunit # SKIP 
# xe_mocs: pass:0 fail:0 skip:2 total:2
ok 1 xe_mocs # SKIP 
    KTAP version 1
    # Subtest: xe_pci
    1..1
        KTAP version 1
        # Subtest: xe_gmdid_graphics_ip
        ok 1 param-0
        ok 2 param-1
    ok 1 xe_gmdid_graphics_ip
ok 2 xe_pci
"""


class Counting(unittest.TestCase):
    def test_parameterized_test_without_parameters_counts_once(self):
        v = gate.judge(EMPTY_PARAMS)
        self.assertEqual((v.count('pass'), v.count('skip')), (2, 2))
        self.assertIn(('xe_mocs.xe_live_mocs_reset_kunit', 'skip'), v.tests)


# kselftest_harness output of a userspace boot, between kernel messages.
HARNESS = """\
[    1.200000] Run /rig_init as init process
TAP version 13
1..3
# Starting 3 tests from 2 test cases.
#  RUN           gpu.one_two_pass.bind_and_read ...
#            OK  gpu.one_two_pass.bind_and_read
ok 1 gpu.one_two_pass.bind_and_read
#  RUN           gpu.one_two_pass.madv_dontneed_zeroes ...
# fake_gpu_test.c:300:madv_dontneed_zeroes:Expected 0 (0) == _v (1)
#          FAIL  gpu.one_two_pass.madv_dontneed_zeroes
not ok 2 gpu.one_two_pass.madv_dontneed_zeroes
#      SKIP      no kmemleak in this kernel (the leak profile has it)
ok 3 fuzz.zz_no_leaks # SKIP no kmemleak in this kernel (the leak profile has it)
# FAILED: 1 / 3 tests passed.
# Totals: pass:1 fail:1 xfail:0 xpass:0 skip:1 error:0
rig_init: /fake_gpu_test exited with 1
"""


class Tap13(unittest.TestCase):
    def test_harness_results_are_counted(self):
        v = gate.judge(HARNESS)
        self.assertEqual((v.count('pass'), v.count('fail'), v.count('skip')), (1, 1, 1))
        self.assertFalse(v.passed)
        self.assertIn('test failed: gpu.one_two_pass.madv_dontneed_zeroes', [str(f) for f in v.failures])

    def test_splat_in_a_userspace_case_names_it(self):
        log = HARNESS.replace('not ok 2', 'ok 2').replace(
            '#  RUN           gpu.one_two_pass.madv_dontneed_zeroes ...\n',
            '#  RUN           gpu.one_two_pass.madv_dontneed_zeroes ...\n'
            + read('splats/kasan-uaf.txt'))
        v = gate.judge(log)
        self.assertFalse(v.passed)
        self.assertEqual(v.splats[0].kind, 'kasan')
        self.assertEqual(v.splats[0].test, 'gpu.one_two_pass.madv_dontneed_zeroes')

    def test_the_fake_gpu_oracle_is_a_splat(self):
        log = HARNESS.replace('#  RUN           gpu.one_two_pass.madv_dontneed_zeroes ...\n',
                              '#  RUN           gpu.one_two_pass.madv_dontneed_zeroes ...\n'
                              'fake_gpu: stale GPU access: gpu0 asid 1 va 0x40000000 pfn '
                              '0x1234 is mapped nowhere\n')
        v = gate.judge(log)
        self.assertEqual(v.splats[0].kind, 'stale-access')
        self.assertEqual(v.splats[0].test, 'gpu.one_two_pass.madv_dontneed_zeroes')

    def test_a_kernel_message_on_the_header_line_still_starts_the_tests(self):
        # Recorded in 6.12's hmm boot under QEMU (the console of pipeline
        # run 6): the PS/2 probe printed on the line init was writing.
        log = HARNESS.replace('TAP version 13\n', 'TAP version 13input: ImExPS/2 Generic '
                              'Explorer Mouse as /devices/platform/i8042/serio1/input/input2\n\n')
        v = gate.judge(log)
        self.assertNotIn('no KTAP output', ' '.join(str(f) for f in v.failures))
        self.assertEqual((v.count('pass'), v.count('fail'), v.count('skip')), (1, 1, 1))
        self.assertTrue(kunitrun._ktap(log).startswith('TAP version 13\n1..3\n'))

    def test_init_records_with_a_kernel_message_between_them(self):
        # rig_init writes each line as a /dev/kmsg record: the console
        # prints records whole, with the kernel's timestamp, and a message
        # printed while "not ok 2" was being written comes before or after
        # it, never inside (userspace/rig_init.c; the old init's direct
        # writes lost that result and reported the boot incomplete).
        lines = HARNESS.splitlines(keepends=True)
        records = ''.join(lines[:1] + [f'[    1.{300 + i:06d}] {ln}'
                                       for i, ln in enumerate(lines[1:])])
        probe = '[    1.300009] input: ImExPS/2 Generic Explorer Mouse as /devices/x\n'
        at = records.index('not ok 2')
        at = records.rindex('\n', 0, at) + 1
        v = gate.judge(records[:at] + probe + records[at:])
        self.assertEqual((v.count('pass'), v.count('fail'), v.count('skip')), (1, 1, 1))
        self.assertIn('test failed: gpu.one_two_pass.madv_dontneed_zeroes',
                      [str(f) for f in v.failures])
        self.assertNotIn('incomplete', ' '.join(str(f) for f in v.failures))

    def test_splat_before_the_tests_is_boot(self):
        log = read('splats/warning.txt') + HARNESS
        self.assertEqual(gate.judge(log).splats[0].test, 'boot')

    def test_crash_names_the_case_that_said_run(self):
        cut = HARNESS.index('# fake_gpu_test.c:300')
        v = gate.judge(HARNESS[:cut] + read('splats/kasan-uaf.txt')
                       + read('splats/oops-panic.txt'))
        self.assertFalse(v.passed)
        self.assertEqual(v.crashed_in, 'gpu.one_two_pass.madv_dontneed_zeroes')
        self.assertEqual(v.splats[0].test, 'gpu.one_two_pass.madv_dontneed_zeroes')
        # A case that reported before the crash is not the one running.
        cut = HARNESS.index('#      SKIP')
        v = gate.judge(HARNESS[:cut] + read('splats/oops-panic.txt'))
        self.assertNotEqual(v.crashed_in, 'gpu.one_two_pass.madv_dontneed_zeroes')


# Run in a child python with a tree's tools/testing/kunit on its path: the
# "suite.case[.param]" names and statuses kunit.py's own parser reads.
KUNIT_PARSER_PY = r'''
import json, sys
sys.path.insert(0, sys.argv[1])
# kunit_parser prints its summary (6.12 to a stdout it takes at import):
# everything but the JSON goes to stderr.
real_stdout, sys.stdout = sys.stdout, sys.stderr
import kunit_parser, kunit_printer
with open(sys.argv[2], errors='replace') as f:
    lines = f.read().splitlines(keepends=True)
if hasattr(kunit_printer, 'null_printer'):
    test = kunit_parser.parse_run_tests(lines, kunit_printer.null_printer)
else:
    test = kunit_parser.parse_run_tests(lines)
out = []
def walk(t, prefix):
    for s in t.subtests:
        name = f'{prefix}.{s.name}' if prefix else s.name
        if s.subtests:
            walk(s, name)
        else:
            out.append((name, s.status.name))
walk(test, '')
real_stdout.write(json.dumps(out))
'''


def kunit_dirs():
    """tools/testing/kunit of each kernel tree in the cache, one per version."""
    found = {}
    for d in sorted(glob.glob(os.path.join(cache_dir(), 'trees', '*', 'tools', 'testing',
                                           'kunit'))):
        try:
            with open(os.path.join(d, 'kunit_parser.py'), 'rb') as f:
                found.setdefault(hashlib.sha256(f.read()).hexdigest(), d)
        except OSError:
            pass
    return sorted(found.values())


class AgreesWithKunitParser(unittest.TestCase):
    """The gate's own KTAP reader finds the tests kunit.py's parser finds."""

    def test_same_tests_and_statuses(self):
        dirs = kunit_dirs()
        if not dirs:
            self.skipTest('no kernel tree in the cache to take kunit_parser from')
        status = {'SUCCESS': 'pass', 'FAILURE': 'fail', 'SKIPPED': 'skip'}
        for d in dirs:
            for log in ('clean.log', 'clean-7.3.log', 'xe-7.3.log'):
                path = os.path.join(LOGS, log)
                res = subprocess.run([sys.executable, '-c', KUNIT_PARSER_PY, d, path],
                                     text=True, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, timeout=60)
                theirs = [(n, status.get(s, s)) for n, s in json.loads(res.stdout)]
                with open(path, errors='replace') as f:
                    ours = gate.judge(f.read()).tests
                self.assertGreater(len(ours), 0)
                self.assertEqual(ours, theirs, f'{log} with {d}')


if __name__ == '__main__':
    unittest.main()
