"""Result files of a profile run and the end-of-run summary table."""

import json
import os
import xml.etree.ElementTree as ET

from .gate import TEST, Splat, Verdict
from .summary import Summary


def junit(summary: Summary, verdict: Verdict | None) -> str:
    """JUnit XML: one testcase per KUnit test; splats fail their test."""
    base = summary.base
    suite = ET.Element('testsuite', name=f'rig-{base}-{summary.profile}' if base
                       else f'rig-{summary.profile}')
    props = ET.SubElement(suite, 'properties')
    fields = summary.to_json()
    for key in ('base', 'package', 'package_version', 'kernel_version', 'kernel_tree',
                'checkout', 'commit'):
        if fields.get(key):
            ET.SubElement(props, 'property', name=key, value=str(fields[key]))
    by_test: dict[str, list[Splat]] = {}
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
    for failure in summary.failures:
        if failure.kind != TEST:
            ET.SubElement(gate_case, 'failure', message=failure.message, type=failure.kind)
    cases = suite.findall('testcase')
    suite.set('tests', str(len(cases)))
    suite.set('failures', str(sum(1 for c in cases if c.find('failure') is not None)))
    suite.set('skipped', str(sum(1 for c in cases if c.find('skipped') is not None)))
    return ET.tostring(suite, encoding='unicode')


def write_summary(rdir: str, summary: Summary) -> None:
    with open(os.path.join(rdir, 'summary.json'), 'w') as f:
        json.dump(summary.to_json(), f, indent=1)


def write(rdir: str, summary: Summary, verdict: Verdict | None, console: str) -> None:
    write_summary(rdir, summary)
    with open(os.path.join(rdir, 'junit.xml'), 'w') as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n' + junit(summary, verdict) + '\n')
    if console and not os.path.exists(os.path.join(rdir, 'console.log')):
        with open(os.path.join(rdir, 'console.log'), 'w') as f:
            f.write(console)


def print_splats(profile: str, verdict: Verdict) -> None:
    for splat in verdict.splats:
        print(f'\n[{profile}] {splat.kind.upper()} splat while running {splat.test} '
              f'(console line {splat.lineno}):')
        for line in splat.lines:
            print(f'    {line}')
    for failure in verdict.failures:
        print(f'[{profile}] FAIL: {failure}')


def table(summaries: list[Summary]) -> str:
    head = ('profile', 'status', 'pass', 'fail', 'skip', 'splats', 'build s', 'run s')
    rows = [head]
    for s in summaries:
        t = s.tests
        rows.append((s.profile, s.status.upper(), str(t['passed']),
                     str(t['failed']), str(t['skipped']), str(len(s.splats)),
                     str(s.build_seconds if s.build_seconds is not None else '-'),
                     str(s.run_seconds if s.run_seconds is not None else '-')))
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ['  '.join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    lines.insert(1, '  '.join('-' * w for w in widths))
    return heading(summaries[0] if summaries else None) + '\n' + '\n'.join(lines)


def heading(summary: Summary | None) -> str:
    """One line naming the base, its package version and the kernel."""
    if summary is None:
        return 'base ? kernel ?'
    words = [f'base {summary.base or "?"}']
    if summary.package:
        words.append(f'({summary.package} {summary.package_version})')
    elif summary.kernel_tree:
        words.append(f'(--kernel {summary.kernel_tree})')
    words.append(f'kernel {summary.kernel_version or "?"}')
    return ' '.join(words)
