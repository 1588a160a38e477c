"""Result files of a profile run and the end-of-run summary table."""

import json
import os
import xml.etree.ElementTree as ET


def junit(summary, verdict):
    """JUnit XML: one testcase per KUnit test; splats fail their test."""
    suite = ET.Element('testsuite', name=f'rig-{summary["profile"]}')
    by_test = {}
    if verdict:
        for splat in verdict.splats:
            by_test.setdefault(splat.test, []).append(splat)
        for name, status in verdict.tests:
            cls, _, case = name.rpartition('.')
            tc = ET.SubElement(suite, 'testcase', classname=cls, name=case)
            if status == 'skip':
                ET.SubElement(tc, 'skipped')
            elif status == 'fail':
                ET.SubElement(tc, 'failure', message='KUnit test failed')
            for splat in by_test.pop(name, []):
                ET.SubElement(tc, 'failure', message=f'{splat.kind} splat',
                              type=splat.kind).text = '\n'.join(splat.lines)
    # Splats outside any test, and run-level failures, get a case of their own.
    gate_case = ET.SubElement(suite, 'testcase', classname='rig', name='splat_gate')
    for failure in summary['failures']:
        if not failure.startswith('test failed:'):
            ET.SubElement(gate_case, 'failure', message=failure)
    cases = suite.findall('testcase')
    suite.set('tests', str(len(cases)))
    suite.set('failures', str(sum(1 for c in cases if c.find('failure') is not None)))
    suite.set('skipped', str(sum(1 for c in cases if c.find('skipped') is not None)))
    return ET.tostring(suite, encoding='unicode')


def write(rdir, summary, verdict, console):
    with open(os.path.join(rdir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    with open(os.path.join(rdir, 'junit.xml'), 'w') as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n' + junit(summary, verdict) + '\n')
    if console and not os.path.exists(os.path.join(rdir, 'console.log')):
        with open(os.path.join(rdir, 'console.log'), 'w') as f:
            f.write(console)


def print_splats(profile, verdict):
    for splat in verdict.splats:
        print(f'\n[{profile}] {splat.kind.upper()} splat while running {splat.test} '
              f'(console line {splat.lineno}):')
        for line in splat.lines:
            print(f'    {line}')
    for failure in verdict.failures:
        print(f'[{profile}] FAIL: {failure}')


def table(summaries):
    head = ('profile', 'status', 'pass', 'fail', 'skip', 'splats', 'build s', 'run s')
    rows = [head]
    for s in summaries:
        t = s['tests']
        rows.append((s['profile'], s['status'].upper(), str(t['passed']),
                     str(t['failed']), str(t['skipped']), str(len(s['splats'])),
                     str(s.get('build_seconds', '-')), str(s.get('run_seconds', '-'))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    version = summaries[0]['kernel_version'] if summaries else '?'
    return f'kernel {version}\n' + '\n'.join(lines)
