"""Summaries as typed objects: what summary.json and JUnit carry."""

import json
import unittest
import xml.etree.ElementTree as ET

from riglib import gate, report
from riglib.summary import Summary

LOG = ('KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: s\n    1..2\n'
       '------------[ cut here ]------------\n'
       'WARNING: lib/x.c:1 at f+0x1/0x2, CPU#0: kunit_try_catch/1\n'
       '---[ end trace 0000000000000000 ]---\n'
       '    ok 1 a\n    not ok 2 b\nnot ok 1 s\n')


class Summaries(unittest.TestCase):
    def summary(self) -> Summary:
        s = Summary('debug', '7.3.4', base='upstream')
        s.record(gate.judge(LOG), None)
        return s

    def test_failures_have_kinds_and_tests(self):
        s = self.summary()
        self.assertFalse(s.passed)
        self.assertEqual([(f.kind, f.test) for f in s.failures],
                         [(gate.SPLAT, 's.a'), (gate.TEST, 's.b')])
        self.assertEqual(s.failed_tests(), ['s.b'])
        self.assertFalse(s.build_failed)
        s.failures.append(gate.Failure(gate.BUILD, 'build failed: see x'))
        self.assertTrue(s.build_failed)

    def test_json_keeps_the_kind(self):
        out = json.loads(json.dumps(self.summary().to_json()))
        self.assertEqual(out['profile'], 'debug')
        self.assertEqual(out['tests'], {'passed': 1, 'failed': 1, 'skipped': 0})
        self.assertEqual([f['kind'] for f in out['failures']], [gate.SPLAT, gate.TEST])
        self.assertEqual(out['failures'][1]['test'], 's.b')
        self.assertTrue(out['failures'][0]['message'].startswith('warning splat in s.a'))

    def test_junit_gate_case_carries_run_failures_only(self):
        s = self.summary()
        suite = ET.fromstring(report.junit(s, gate.judge(LOG)))
        gate_case = [c for c in suite.findall('testcase') if c.get('name') == 'splat_gate'][0]
        self.assertEqual([f.get('type') for f in gate_case.findall('failure')], [gate.SPLAT])
        self.assertEqual(suite.get('name'), 'rig-upstream-debug')


if __name__ == '__main__':
    unittest.main()
