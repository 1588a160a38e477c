"""A profile run's summary: what its summary.json holds, as a typed object.

Readers decide on fields, never on the wording of a message: a failure is
a gate.Failure with a kind (a build that failed, a test, a splat, ...).
"""

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .gate import BUILD, Failure, Verdict


def _no_tests() -> dict[str, int]:
    return {'passed': 0, 'failed': 0, 'skipped': 0}


@dataclass
class Summary:
    """One run of a kernel: a KUnit boot, a userspace boot, a side of hmm.

    The base and checkout fields are tree.Base.result_fields(); status is
    'fail' until the gate passed the run.
    """
    profile: str
    kernel_version: str
    base: str | None = None
    package: str | None = None
    package_version: str | None = None
    kernel_tree: str | None = None
    checkout: str | None = None
    commit: str | None = None
    tree: str | None = None
    tree_head: str | None = None
    filter: str | None = None
    build_dir: str | None = None
    status: str = 'fail'
    tests: dict[str, int] = field(default_factory=_no_tests)
    splats: list[dict[str, Any]] = field(default_factory=list)
    expected_splats: list[dict[str, Any]] = field(default_factory=list)
    expected_missing: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    crashed_in: str | None = None
    timeout: str | None = None
    build_seconds: float | None = None
    run_seconds: float | None = None
    config_hash: str | None = None
    fuzz_seed: int | None = None
    # rig hmm: each test's status on this side.
    statuses: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == 'pass'

    @property
    def build_failed(self) -> bool:
        return any(f.kind == BUILD for f in self.failures)

    def failed_tests(self) -> list[str]:
        """The tests the gate failed by their result (not by a splat)."""
        return [f.test for f in self.failures if f.kind == 'test' and f.test]

    def record(self, verdict: Verdict, timeout: str | None) -> None:
        """Take the gate's @verdict; @timeout says why the kernel was stopped."""
        self.tests = {'passed': verdict.count('pass'), 'failed': verdict.count('fail'),
                      'skipped': verdict.count('skip')}
        self.splats = [s.to_json() for s in verdict.splats]
        self.expected_splats = [s.to_json() for s in verdict.expected]
        self.expected_missing = list(verdict.missing)
        self.failures = list(verdict.failures)
        self.results = [name for name, _ in verdict.tests]
        self.crashed_in = verdict.crashed_in
        if timeout:
            self.timeout = timeout
        self.status = 'pass' if verdict.passed else 'fail'

    def to_json(self) -> dict[str, Any]:
        """summary.json: every field; a failure as its kind, message and test."""
        return dataclasses.asdict(self)
