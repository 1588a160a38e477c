"""rig differences on miniature trees: a backport and the upstream it follows."""

import os
import shutil
import tempfile
import unittest

from riglib import differences
from riglib.util import RigError
from tests.gitpatch import sh

PRISTINE = '''#include <linux/x.h>

/* old comment */
static int helper(int a)
{
	return a + 1;
}

struct thing {
	int a;
};
'''

BACKPORT = '''#include <linux/x.h>

/*
 * A comment of the backport's own.
 */
static int helper(int a)
{
	return a + 2;	/* changed */
}

struct thing {
	int a;
	int b;
};

static const char *name(void)
{
	return "six";
}

int only_here(void)
{
	if (helper(1) > 2) {
		return 1;
	}
	return 0;
}
'''

UPSTREAM = '''#include <linux/x.h>

static int helper(int a)
{
	return   a + 2;
}

struct thing {
	int a;
	long b;
};

static const char *name(void)
{
	return "seven";
}
'''


class Differences(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='rig-diff-')
        self.old = os.path.join(self.tmp, 'old')
        os.makedirs(os.path.join(self.old, 'mm'))
        self.write(self.old, PRISTINE)
        sh(self.old, 'git', 'init', '-q')
        self.commit('pristine')
        sh(self.old, 'git', 'tag', 'rig-pristine')
        self.write(self.old, BACKPORT)
        self.commit('backport')
        self.new = os.path.join(self.tmp, 'new')
        os.makedirs(os.path.join(self.new, 'mm'))
        self.write(self.new, UPSTREAM)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def write(self, tree, text, path='mm/f.c'):
        with open(os.path.join(tree, path), 'w') as f:
            f.write(text)

    def commit(self, msg):
        sh(self.old, 'git', 'add', '-A')
        sh(self.old, 'git', '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', msg)

    def test_definitions_span_their_bodies(self):
        defs = differences.definitions(BACKPORT)
        self.assertEqual(list(defs), ['helper', 'struct thing', 'name', 'only_here'])
        self.assertEqual(defs['helper'][:2], (6, 9))
        self.assertEqual(defs['only_here'][:2], (21, 27))

    def test_each_changed_definition_is_classified(self):
        rows = differences.compare(self.old, 'HEAD', self.new)
        got = {r['definition']: r['status'] for r in rows}
        # Comments and whitespace do not count; a string literal does.
        self.assertEqual(got, {'helper': 'identical', 'struct thing': 'differs',
                               'name': 'differs', 'only_here': '6.12 only'})

    def test_api_renames_make_a_definition_renamed_not_different(self):
        rows = differences.compare(self.old, 'HEAD', self.new, [('int b', 'long b')])
        got = {r['definition']: r['status'] for r in rows}
        # "int b" -> "long b" is the whole difference of struct thing.
        self.assertEqual(got['struct thing'], 'renamed')
        self.assertEqual(got['helper'], 'identical')
        self.assertEqual(got['name'], 'differs')
        self.assertEqual(differences.apply_renames('a->a.ab a', [('a', 'b')]), 'b->b.ab b')
        problems = differences.check(rows, {'struct thing': '', 'name': '',
                                            'only_here': '', 'helper': ''})
        self.assertEqual(len(problems), 2)
        self.assertIn('lists struct thing, which is identical to upstream (up to the API '
                      'renames)', ' '.join(problems))

    def test_table_must_list_exactly_the_differences(self):
        rows = differences.compare(self.old, 'HEAD', self.new)
        table = {'struct thing': '', 'name': '', 'only_here': ''}
        self.assertEqual(differences.check(rows, table), [])
        problems = differences.check(rows, {'name': '', 'only_here': '', 'helper': '',
                                            'gone': ''})
        self.assertEqual(len(problems), 3)
        self.assertIn('struct thing (differs) is not in', problems[0])
        self.assertIn('lists helper, which is identical', problems[1])
        self.assertIn('lists gone, which is not changed', problems[2])

    def test_the_list_is_parsed_and_a_section_must_say_why(self):
        path = os.path.join(self.tmp, 'differences.ini')
        with open(path, 'w') as f:
            f.write('[struct thing]\nfile = f.c\nupstream = f.c\n'
                    'behaviour = other string\nwhy = 6.12 API\n')
        self.assertEqual(list(differences.listed(path)), ['struct thing'])
        with open(path, 'w') as f:
            f.write('[name]\nfile = f.c\nupstream = f.c\nbehaviour = other string\n')
        with self.assertRaisesRegex(RigError, r'\[name\] lacks why'):
            differences.listed(path)

    def test_the_repo_list_is_well_formed(self):
        self.assertTrue(differences.listed())

if __name__ == '__main__':
    unittest.main()
