"""README.md, docs/ and mutants/README.md: every link resolves, and every
"scripts/rig" command of their sh blocks is a command line the rig takes."""

import glob
import os
import re
import shlex
import subprocess
import sys
import unittest

from riglib.util import REPO

RIG = os.path.join(REPO, 'scripts', 'rig')
PAGES = sorted([os.path.join(REPO, 'README.md'), os.path.join(REPO, 'mutants', 'README.md')]
               + glob.glob(os.path.join(REPO, 'docs', '*.md')))
LINK = re.compile(r'\]\(([^)\s]+)\)')
# Commands that only read, cheap enough to run for real.
RUN_FOR_REAL = {'ci-config', 'check-log'}
SHELL_OPERATORS = {'>', '>>', '<', '|', '&&', '||', ';', '2>&1'}
# README's limit: a guide, not a notebook.
README_MAX_LINES = 300


def sh_commands(path):
    """(line number, argv) of each "scripts/rig" line of @path's sh blocks."""
    out, block = [], False
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if line.startswith('```'):
                block = line.strip() == '```sh' if not block else False
                continue
            if block and line.startswith('scripts/rig'):
                words = shlex.split(line, comments=True)
                # The command ends where the shell's redirection or next
                # command begins.
                ends = [i for i, w in enumerate(words) if w in SHELL_OPERATORS]
                out.append((number, words[:ends[0]] if ends else words))
    return out


class Docs(unittest.TestCase):
    def test_the_pages_exist_and_readme_is_short(self):
        self.assertGreater(len(PAGES), 3)
        for name in ('adding-a-test.md', 'adding-a-base.md'):
            self.assertIn(os.path.join(REPO, 'docs', name), PAGES)
        with open(os.path.join(REPO, 'README.md')) as f:
            self.assertLessEqual(len(f.readlines()), README_MAX_LINES)

    def test_every_link_resolves(self):
        for page in PAGES:
            with open(page) as f:
                text = f.read()
            for target in LINK.findall(text):
                if re.match(r'[a-z]+:', target) or target.startswith('#'):
                    continue
                path = os.path.join(os.path.dirname(page), target.split('#')[0])
                with self.subTest(page=os.path.relpath(page, REPO), link=target):
                    self.assertTrue(os.path.exists(path), f'{target}: no such file')

    def test_every_rig_command_is_one_the_rig_takes(self):
        env = dict(os.environ, RIG_CACHE=os.path.join(REPO, 'results', 'no-cache'))
        for key in ('RIG_BASE', 'RIG_KERNEL', 'RIG_NO_WAIT'):
            env.pop(key, None)
        seen = 0
        for page in PAGES:
            for number, argv in sh_commands(page):
                seen += 1
                where = f'{os.path.relpath(page, REPO)}:{number}: {shlex.join(argv)}'
                args = argv[1:]
                real = any(a in RUN_FOR_REAL for a in args) and '-' not in args
                cmd = [sys.executable, RIG, *([] if real else ['--check-only']), *args]
                with self.subTest(command=where):
                    res = subprocess.run(cmd, env=env, cwd=REPO, text=True, timeout=120,
                                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                    # check-log's verdict on a log that fails is 1; 2 is
                    # a command line it does not take.
                    ok = (0, 1) if real and 'check-log' in args else (0,)
                    self.assertIn(res.returncode, ok, f'{where}\n{res.stdout[-2000:]}')
        self.assertGreater(seen, 10)


if __name__ == '__main__':
    unittest.main()
