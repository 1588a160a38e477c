"""configs/bases.ini: bases are data, checked when loaded."""

import os
import shutil
import tempfile
import unittest

from riglib import bases, kunitrun, profiles, tree
from riglib.util import RigError

GOOD = '''[a]
package = linux-source-7.3
version = 1
archive = http://x
suite = s
tarball = usr/src/t.tar.xz
test = debug mutants
default = yes

[b]
package = linux-source-6.12
version = 2
archive = http://x
suite = s
tarball = usr/src/t.tar.xz
test = xe differences
backport_of = a
'''


class Bases(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='rig-bases-')
        self.saved = bases.BASES_INI
        bases.BASES_INI = os.path.join(self.tmp, 'bases.ini')

    def tearDown(self):
        bases.BASES_INI = self.saved
        shutil.rmtree(self.tmp)

    def write(self, text):
        with open(bases.BASES_INI, 'w') as f:
            f.write(text)

    def test_the_repo_bases_name_real_profiles_and_steps(self):
        bases.BASES_INI = self.saved
        known = bases.load()
        bases.check_test_steps(known, profiles.load())
        self.assertEqual(bases.select().name, 'upstream')
        self.assertEqual(known['6.12'].backport_of, 'upstream')

    def test_fragments_per_architecture(self):
        tmp_ini, bases.BASES_INI = bases.BASES_INI, self.saved
        try:
            up = bases.load()['upstream']
        finally:
            bases.BASES_INI = tmp_ini
        # UML's PCI options stay out of the QEMU profiles (smp).
        self.assertEqual([os.path.basename(f) for f in up.fragments('um')],
                         ['base-upstream.config'])
        self.assertEqual(up.fragments('x86_64'), [])
        self.write(GOOD.replace('default = yes',
                                'default = yes\nfragments = configs/common.config\n'
                                'fragments.x86_64 = configs/smp.config'))
        a = bases.load()['a']
        self.assertEqual([os.path.basename(f) for f in a.fragments('x86_64')],
                         ['common.config', 'smp.config'])
        self.assertEqual([os.path.basename(f) for f in a.fragments('um')], ['common.config'])

    def test_default_and_env(self):
        self.write(GOOD)
        self.assertEqual(bases.select().name, 'a')
        os.environ['RIG_BASE'] = 'b'
        try:
            self.assertEqual(bases.select().name, 'b')
        finally:
            del os.environ['RIG_BASE']

    def test_unknown_base_names_the_known_ones(self):
        self.write(GOOD)
        with self.assertRaisesRegex(RigError, 'unknown base c; known: a, b'):
            bases.select('c')

    def test_a_step_that_is_no_profile_is_an_error(self):
        self.write(GOOD.replace('test = debug mutants', 'test = debug mutnats'))
        with self.assertRaisesRegex(RigError, 'base a: test names mutnats'):
            bases.check_test_steps(bases.load(), profiles.load())

    def test_full_adds_steps_after_test(self):
        self.write(GOOD.replace('test = debug mutants',
                                'test = debug mutants\nfull = smp hmm'))
        a = bases.load()['a']
        self.assertEqual(a.steps(full=False), ['debug', 'mutants'])
        self.assertEqual(a.steps(full=True), ['debug', 'mutants', 'smp', 'hmm'])
        bases.check_test_steps(bases.load(), profiles.load())

    def test_a_bad_or_repeated_full_step_is_an_error(self):
        self.write(GOOD.replace('test = debug mutants',
                                'test = debug mutants\nfull = smp hmn'))
        with self.assertRaisesRegex(RigError, 'base a: full names hmn'):
            bases.check_test_steps(bases.load(), profiles.load())
        self.write(GOOD.replace('test = debug mutants',
                                'test = debug mutants\nfull = debug'))
        with self.assertRaisesRegex(RigError, 'base a: debug in both test and full'):
            bases.check_test_steps(bases.load(), profiles.load())

    def test_two_defaults_and_missing_fields_are_errors(self):
        self.write(GOOD.replace('backport_of = a', 'default = yes'))
        with self.assertRaisesRegex(RigError, 'exactly one base'):
            bases.load()
        self.write(GOOD.replace('version = 2\n', ''))
        with self.assertRaisesRegex(RigError, 'base b lacks version'):
            bases.load()
        self.write(GOOD.replace('backport_of = a', 'backport_of = z'))
        with self.assertRaisesRegex(RigError, 'backport_of names z'):
            bases.load()

    def test_a_variant_has_a_tree_and_fragments_of_its_own_kernel(self):
        variant = GOOD + GOOD.split('[b]')[0].replace('[a]', '[c]').replace(
            'default = yes\n', 'variant_of = a\n')
        self.write(variant)
        known = bases.load()
        self.assertEqual((known['c'].kernel, known['a'].kernel), ('a', 'a'))
        trees = {name: tree.Base(known[name]) for name in 'ac'}
        self.assertEqual(trees['c'].source, trees['a'].source)
        self.assertEqual(trees['c'].tree, trees['a'].tree + '-c')
        # The same package twice without variant_of would share one tree.
        self.write(variant.replace('variant_of = a\n', ''))
        with self.assertRaisesRegex(RigError, 'bases a and c share linux-source-7.3 1'):
            bases.load()
        self.write(variant.replace('variant_of = a', 'variant_of = c'))
        with self.assertRaisesRegex(RigError, 'variant_of names c, which is not another'):
            bases.load()

    def test_the_repo_variant_gets_upstream_profile_fragments(self):
        bases.BASES_INI = self.saved
        rfc = bases.load()['upstream-rfc']
        xe = profiles.load()['xe']
        frags = kunitrun.fragments(tree.Base(rfc), xe)
        self.assertIn('xe-upstream.config', [os.path.basename(f) for f in frags])

    def test_a_missing_hook_is_an_error(self):
        self.write(GOOD.replace('default = yes', 'default = yes\nhooks = no/such.patch'))
        with self.assertRaisesRegex(RigError, 'base a: hook no/such.patch does not exist'):
            bases.load()

    def test_mutant_globs(self):
        cases = {'core/eagain-* x': {'core/eagain-walk-continues': True, 'x': True,
                                     'xy': False},
                 '* !backport/*': {'xe/submit-before-zap': True,
                                   'backport/without-0005': False}}
        for globs, runs in cases.items():
            self.write(GOOD.replace('default = yes', f'default = yes\nmutants = {globs}\n'
                                    'mutant_profile = fast'))
            a = bases.load()['a']
            for mutant, expected in runs.items():
                self.assertEqual(a.runs_mutant(mutant), expected, (globs, mutant))

    def test_slow_mutants_are_a_list_of_their_own(self):
        self.write(GOOD.replace('default = yes', 'default = yes\nmutants = core/*\n'
                                'slow_mutants = xe-svm/*\nmutant_profile = fast'))
        a = bases.load()['a']
        self.assertTrue(a.runs_mutant('core/x'))
        self.assertFalse(a.runs_mutant('xe-svm/x'))
        self.assertTrue(a.runs_mutant('xe-svm/x', slow=True))
        self.assertFalse(a.runs_mutant('core/x', slow=True))
        self.write(GOOD.replace('default = yes', 'default = yes\nslow_mutants = xe-svm/*'))
        with self.assertRaisesRegex(RigError, 'base a has mutants but no mutant_profile'):
            bases.load()

    def test_mutants_need_a_profile_and_shards_a_number(self):
        self.write(GOOD.replace('default = yes', 'default = yes\nmutants = core/*'))
        with self.assertRaisesRegex(RigError, 'base a has mutants but no mutant_profile'):
            bases.load()
        for shards, error in (('x', 'is not a number'), ('0', 'must be at least 1')):
            self.write(GOOD.replace('default = yes', 'default = yes\nmutants = core/*\n'
                                    f'mutant_profile = fast\nmutant_shards = {shards}'))
            with self.assertRaisesRegex(RigError, f'mutant_shards {error}'):
                bases.load()

    def test_api_renames(self):
        self.write(GOOD.replace('backport_of = a', 'backport_of = a\napi_renames = '
                                'vm->x -> vm->y\n  old_fn -> new_fn'))
        self.assertEqual(bases.load()['b'].api_renames,
                         [('vm->x', 'vm->y'), ('old_fn', 'new_fn')])
        self.write(GOOD.replace('backport_of = a', 'backport_of = a\napi_renames = vm->x'))
        with self.assertRaisesRegex(RigError, 'api_renames line "vm->x" is not'):
            bases.load()



if __name__ == '__main__':
    unittest.main()
