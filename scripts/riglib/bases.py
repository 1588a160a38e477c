"""Kernel bases are data: configs/bases.ini names each one.

A base says where its pristine kernel comes from (a pinned Debian package),
which series of kernel-patches/ goes on top, which kunitconfig fragments
every profile gets on it, and what "rig test" runs there.
"""

import configparser
import fnmatch
import os
from typing import Container

from . import debsrc
from .util import REPO, RigError, read_ini

BASES_INI = os.path.join(REPO, 'configs', 'bases.ini')
# "rig test" steps that are not profiles.
STEPS = ('bisect-build', 'mutants', 'slow-mutants', 'canaries', 'coverage', 'differences',
         'hmm')


class BaseDef:
    def __init__(self, name: str, section: configparser.SectionProxy) -> None:
        self.name = name
        self.description = section.get('description', '')
        missing = [k for k in ('package', 'version', 'archive', 'suite', 'tarball')
                   if not section.get(k)]
        if missing:
            raise RigError(f'{BASES_INI}: base {name} lacks {", ".join(missing)}')
        self.package = debsrc.Package(section['package'], section['version'],
                                      section['archive'], section['suite'],
                                      section['tarball'], section.get('keyring'))
        series = section.get('series')
        self.series = os.path.join(REPO, series) if series else None
        if self.series and not os.path.isfile(self.series):
            raise RigError(f'{BASES_INI}: base {name}: series {series} does not exist')
        # "fragments" for every profile, "fragments.ARCH" for the profiles
        # of that kunit.py architecture only (UML's PCI options, say).
        self.arch_fragments = {key.partition('.')[2]: [os.path.join(REPO, f)
                                                       for f in value.split()]
                               for key, value in section.items()
                               if key == 'fragments' or key.startswith('fragments.')}
        for frag in sum(self.arch_fragments.values(), []):
            if not os.path.isfile(frag):
                raise RigError(f'{BASES_INI}: base {name}: fragment '
                               f'{os.path.relpath(frag, REPO)} does not exist')
        # Test hooks (kernel-patches/test-hooks/): applied in the wiring
        # commit, never exported.
        self.hooks = [os.path.join(REPO, f) for f in section.get('hooks', '').split()]
        for hook in self.hooks:
            if not os.path.isfile(hook):
                raise RigError(f'{BASES_INI}: base {name}: hook '
                               f'{os.path.relpath(hook, REPO)} does not exist')
        # Another base's kernel with a series of its own: the profiles'
        # fragments for that base apply, and the tree is "<package>-<name>".
        self.variant_of = section.get('variant_of')
        # "rig test" runs @test; "rig test --full" and the pipeline run
        # @full after it as well.
        self.test = section.get('test', '').split()
        self.full = section.get('full', '').split()
        self.mutants = section.get('mutants', '').split()
        # Mutants whose Profile: takes a build too slow for "test" (an
        # x86_64 kernel): the slow-mutants step, in "full".
        self.slow_mutants = section.get('slow_mutants', '').split()
        self.mutant_profile = section.get('mutant_profile', '')
        if (self.mutants or self.slow_mutants) and not self.mutant_profile:
            raise RigError(f'{BASES_INI}: base {name} has mutants but no mutant_profile')
        try:
            self.mutant_shards = section.getint('mutant_shards', 1)
        except ValueError as err:
            raise RigError(f'{BASES_INI}: base {name}: mutant_shards is not a number') from err
        if self.mutant_shards < 1:
            raise RigError(f'{BASES_INI}: base {name}: mutant_shards must be at least 1')
        self.default = section.getboolean('default', False)
        # The base this one's series is a backport of (rig differences).
        self.backport_of = section.get('backport_of')
        # "old -> new" per line (" -> " with its spaces: C has "->" too):
        # names the backport's base spells otherwise.
        self.api_renames: list[tuple[str, ...]] = []
        for line in section.get('api_renames', '').splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(' -> ')]
            if len(parts) != 2 or not all(parts):
                raise RigError(f'{BASES_INI}: base {name}: api_renames line '
                               f'"{line.strip()}" is not "old -> new"')
            self.api_renames.append(tuple(parts))

    def steps(self, full: bool) -> list[str]:
        """What "rig test" runs on this base, with --full if @full."""
        return self.test + self.full if full else list(self.test)

    def fragments(self, arch: str) -> list[str]:
        """The base's fragments for a profile of kunit.py architecture @arch."""
        return self.arch_fragments.get('', []) + self.arch_fragments.get(arch, [])

    @property
    def kernel(self) -> str:
        """The base whose fragments.BASE of a profile apply here."""
        return self.variant_of or self.name

    def runs_mutant(self, mutant: str, slow: bool = False) -> bool:
        """Whether a glob of "mutants" (@slow: "slow_mutants") names @mutant
        and no "!glob" drops it."""
        globs = self.slow_mutants if slow else self.mutants
        drop = [g[1:] for g in globs if g.startswith('!')]
        keep = [g for g in globs if not g.startswith('!')]
        return any(fnmatch.fnmatchcase(mutant, g) for g in keep) and \
            not any(fnmatch.fnmatchcase(mutant, g) for g in drop)


def load() -> dict[str, BaseDef]:
    parser = read_ini(BASES_INI)
    bases = {name: BaseDef(name, parser[name]) for name in parser.sections()}
    defaults = [b.name for b in bases.values() if b.default]
    if len(defaults) != 1:
        raise RigError(f'{BASES_INI}: exactly one base needs "default = yes" '
                       f'(found: {", ".join(defaults) or "none"})')
    packages: dict[tuple[str, str], str] = {}
    for b in bases.values():
        pkg = (b.package.name, b.package.version)
        if b.variant_of:
            if b.variant_of not in bases or b.variant_of == b.name:
                raise RigError(f'{BASES_INI}: base {b.name}: variant_of names '
                               f'{b.variant_of}, which is not another base')
        elif pkg in packages:
            raise RigError(f'{BASES_INI}: bases {packages[pkg]} and {b.name} share '
                           f'{pkg[0]} {pkg[1]}: one needs "variant_of" (a tree of its own)')
        else:
            packages[pkg] = b.name
        if b.backport_of and b.backport_of not in bases:
            raise RigError(f'{BASES_INI}: base {b.name}: backport_of names '
                           f'{b.backport_of}, which is not a base')
    return bases


def select(name: str | None = None) -> BaseDef:
    """The base called @name ($RIG_BASE, else the default one)."""
    bases = load()
    name = name or os.environ.get('RIG_BASE')
    if not name:
        return next(b for b in bases.values() if b.default)
    if name not in bases:
        raise RigError(f'unknown base {name}; known: {", ".join(bases)} '
                       f'(configs/bases.ini)')
    return bases[name]


def answers_to(name: str) -> tuple[str, ...]:
    """The names base @name goes by in per-base lists: its own and its kernel's.

    A variant (variant_of) runs the kernel of another base, so what that
    kernel does (a warning a test provokes) holds on it too. An unknown name
    answers to itself only.
    """
    base = load().get(name)
    if base is None or base.kernel == name:
        return (name,)
    return (name, base.kernel)


def check_test_steps(bases: dict[str, BaseDef], profiles: Container[str]) -> None:
    """Every word of a base's "test" and "full" is a profile or a step,
    and none is in both."""
    for b in bases.values():
        for key, words in (('test', b.test), ('full', b.full)):
            bad = [w for w in words if w not in profiles and w not in STEPS]
            if bad:
                raise RigError(f'{BASES_INI}: base {b.name}: {key} names '
                               f'{", ".join(bad)}, which is neither a profile nor '
                               f'one of {", ".join(STEPS)}')
        twice = sorted(set(b.test) & set(b.full))
        if twice:
            raise RigError(f'{BASES_INI}: base {b.name}: {", ".join(twice)} '
                           'in both test and full')
