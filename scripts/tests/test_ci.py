"""riglib.ci: the pipeline is bases.ini's, and its verdict sees every job."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from riglib import bases, ci, mutants
from riglib.util import REPO, RigError


class Pipeline(unittest.TestCase):
    def test_committed_pipeline_is_generated_from_bases_ini(self):
        with open(ci.PIPELINE) as f:
            committed = f.read()
        self.assertEqual(committed, ci.pipeline(bases.load()),
                         'run "scripts/rig ci-config > .gitlab-ci.yml"')

    def test_a_job_per_step_and_the_mutants_sharded(self):
        all_bases = bases.load()
        names = [ci.job_name(*j) for j in ci.jobs(all_bases)]
        for b in all_bases.values():
            for step in b.test:
                if step == 'mutants' and b.mutant_shards > 1:
                    n = b.mutant_shards
                    self.assertIn(f'{b.name} mutants 1 of {n}', names)
                    self.assertIn(f'{b.name} mutants {n} of {n}', names)
                else:
                    self.assertIn(f'{b.name} {step}', names)
        self.assertEqual(len(names), len(set(names)))

    def test_gitlab_ci_local_reads_the_same_jobs(self):
        gcl = shutil.which('gitlab-ci-local')
        if not gcl:
            self.skipTest('gitlab-ci-local is not installed (npm i -g gitlab-ci-local@4.72.0)')
        res = subprocess.run([gcl, '--list-json'], cwd=REPO, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(res.returncode, 0, res.stdout[-2000:])
        listed = json.loads(res.stdout[res.stdout.index('\n[') + 1:])
        want = ['selftest'] + [ci.job_name(*j) for j in ci.jobs(bases.load())] + ['verdict']
        self.assertEqual([j['name'] for j in listed], want)
        self.assertEqual(next(j for j in listed if j['name'] == 'verdict')['when'], 'always')


class Shards(unittest.TestCase):
    def test_shards_partition_the_mutants(self):
        paths = [f'm{i}' for i in range(10)]
        parts = [mutants.shard(paths, f'{i}/4') for i in range(1, 5)]
        self.assertEqual(sorted(p for part in parts for p in part), paths)
        self.assertEqual(parts[0], ['m0', 'm4', 'm8'])
        self.assertEqual(mutants.shard(paths, None), paths)

    def test_bad_shard_is_an_error(self):
        for spec in ('0/4', '5/4', '1', 'a/b', '1/0'):
            with self.assertRaisesRegex(RigError, re.escape(f'--shard {spec}')):
                mutants.shard(['m'], spec)


class Verdict(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix='rig-ci-')
        self.bases = bases.load()
        for base, step, shard in ci.jobs(self.bases):
            self.record(base, step, shard, 0)

    def tearDown(self):
        shutil.rmtree(self.root)

    def record(self, base, step, shard, rc):
        path = ci.step_record_path(self.root, base, step, shard)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump({'base': base, 'step': step, 'shard': shard, 'rc': rc}, f)

    def summary(self, base, name, splats):
        d = os.path.join(self.root, base, name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, 'summary.json'), 'w') as f:
            json.dump({'base': base, 'profile': name, 'status': 'fail' if splats else 'pass',
                       'splats': [{'kind': 'lockdep'}] * splats}, f)

    def test_every_job_passed(self):
        self.summary('upstream', 'debug', 0)
        # Mutants and canaries fail by design; their steps judge them.
        self.summary('upstream', 'mutant-finish-order-reversed', 1)
        self.summary('upstream', 'canary-lockdep', 1)
        rows, failures = ci.summarize(self.root, self.bases)
        self.assertEqual(failures, [])
        self.assertEqual(len(rows), len(ci.jobs(self.bases)))

    def test_a_failed_job_a_missing_job_and_a_splat_fail(self):
        self.record('upstream', 'fast', None, 1)
        os.unlink(ci.step_record_path(self.root, '6.12', 'hmm', None))
        self.summary('upstream', 'debug-userspace', 2)
        _, failures = ci.summarize(self.root, self.bases)
        self.assertEqual(failures, ['upstream fast: failed (rc 1)',
                                    '6.12 hmm: no step record ('
                                    + ci.step_record_path(self.root, '6.12', 'hmm', None) + ')',
                                    'upstream debug-userspace: 2 splat(s)'])

    def test_a_sharded_step_run_whole_counts_once(self):
        for base, step, shard in ci.jobs(self.bases):
            if shard:
                os.unlink(ci.step_record_path(self.root, base, step, shard))
                self.record(base, step, None, 0)
        rows, failures = ci.summarize(self.root, self.bases)
        self.assertEqual(failures, [])
        self.assertEqual(len([r for r in rows if r['step'] == 'mutants']),
                         len([b for b in self.bases.values()
                              if 'mutants' in b.steps(full=True)]))

    def test_a_step_that_stops_on_an_error_leaves_its_record(self):
        # The job's step fails before any build: its record says why, and
        # the pipeline's summary names the job with it.
        os.unlink(ci.step_record_path(self.root, 'upstream', 'fast', None))
        env = dict(os.environ, RIG_RESULTS=self.root,
                   RIG_CACHE=os.path.join(self.root, 'cache'))
        env.pop('RIG_BASE', None)
        # A tree without the two-pass core, on which the backport does not
        # apply: the step's setup fails.
        kernel = os.path.join(self.root, 'kernel')
        os.makedirs(os.path.join(kernel, 'mm'))
        with open(os.path.join(kernel, 'Makefile'), 'w') as f:
            f.write('VERSION = 6\nPATCHLEVEL = 12\nSUBLEVEL = 0\nEXTRAVERSION =\n')
        with open(os.path.join(kernel, 'mm', 'mmu_notifier.c'), 'w') as f:
            f.write('nothing\n')
        res = subprocess.run([os.path.join(REPO, 'scripts', 'rig'), '--kernel', kernel,
                              'test', '--step', 'fast'],
                             env=env, text=True, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=120)
        self.assertEqual(res.returncode, 2, res.stdout)
        self.assertIn('does not apply', res.stdout)
        _, failures = ci.summarize(self.root, self.bases)
        self.assertEqual(len(failures), 1, failures)
        self.assertRegex(failures[0], r'^upstream fast: failed \(rc 2\): patch '
                         r'kernel-patches/0001-.* does not apply')


if __name__ == '__main__':
    unittest.main()
