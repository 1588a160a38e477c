"""Profiles are data: configs/profiles.ini names each one's fragments."""

import configparser
import os
import re
from typing import Sequence

from .util import REPO, RigError, by_name, read_ini

PROFILES_INI = os.path.join(REPO, 'configs', 'profiles.ini')
# The userspace boot of a UML kernel (True) and of a QEMU one (False): UML
# mounts a host directory as its root, QEMU unpacks an initramfs.
USERSPACE_BOOTS = {True: 'hostfs', False: 'initramfs'}


class Profile:
    def __init__(self, name: str, section: configparser.SectionProxy) -> None:
        self.name = name
        self.description = section.get('description', '')
        self.fragments = [os.path.join(REPO, f) for f in section.get('fragments', '').split()]
        if not self.fragments:
            raise RigError(f'{PROFILES_INI}: profile {name} has no fragments')
        for frag in self.fragments:
            if not os.path.isfile(frag):
                raise RigError(f'profile {name}: fragment {os.path.relpath(frag, REPO)} '
                               'does not exist')
        try:
            self.timeout = section.getint('timeout', 900)
        except ValueError as err:
            raise RigError(f'{PROFILES_INI}: profile {name}: bad timeout') from err
        # "fragments.BASE = ...": added on that base only, last.
        self.base_fragments = {key.split('.', 1)[1]: [os.path.join(REPO, f)
                                                       for f in value.split()]
                               for key, value in section.items()
                               if key.startswith('fragments.')}
        for frag in sum(self.base_fragments.values(), []):
            if not os.path.isfile(frag):
                raise RigError(f'profile {name}: fragment {os.path.relpath(frag, REPO)} '
                               'does not exist')
        self.kernel_args = section.get('kernel_args', '').split()
        # The toolchain: GCC, or LLVM with this version suffix (make's
        # LLVM=-19: clang-19, ld.lld-19, llvm-ar-19, ...).
        self.llvm = section.get('llvm', '')
        if self.llvm and not re.fullmatch(r'-[1-9][0-9]*', self.llvm):
            raise RigError(f'{PROFILES_INI}: profile {name}: llvm = {self.llvm}: a '
                           'version suffix such as -19')
        # gcov on UML with GCC >= 7: see kunitrun.gcov_compiler_dir().
        self.libgcov_fix = section.getboolean('libgcov_fix', False)
        self.default = section.getboolean('default', False)
        # A profile of another command ("hmm": no KUnit suites to run).
        self.command = section.get('command', 'run')
        # Where the kernel runs: UML ("um", the binary is the machine) or
        # QEMU for any other kunit.py architecture, with the profile's
        # extra QEMU arguments (vCPUs, memory, accelerator).
        self.arch = section.get('arch', 'um')
        self.qemu_args = section.get('qemu_args', '')
        if self.arch == 'um' and self.qemu_args:
            raise RigError(f'{PROFILES_INI}: profile {name}: qemu_args needs an '
                           'arch other than um')
        # How userspace/ reaches the kernel, if it boots into it at all.
        self.userspace = section.get('userspace', 'no')
        boots = USERSPACE_BOOTS.get(self.arch == 'um')
        if self.userspace == 'no':
            self.userspace = None
        elif self.userspace != boots:
            raise RigError(f'{PROFILES_INI}: profile {name}: userspace = '
                           f'{self.userspace}; on arch {self.arch} it is {boots} or no')

    @property
    def packages(self) -> list[str]:
        """The Debian packages of this profile's toolchain beyond the rig's
        own (riglib.packages.PACKAGES, which has GCC)."""
        if not self.llvm:
            return []
        return [f'clang{self.llvm}', f'lld{self.llvm}', f'llvm{self.llvm}']

    @property
    def qemu(self) -> bool:
        """True if the kernel runs under QEMU rather than as a UML binary."""
        return self.arch != 'um'


def load() -> dict[str, Profile]:
    parser = read_ini(PROFILES_INI)
    return {name: Profile(name, parser[name]) for name in parser.sections()}


def select(names: Sequence[str]) -> list[Profile]:
    """The named profiles, or the default ones; unknown names are an error."""
    profiles = load()
    if not names:
        return [p for p in profiles.values() if p.default]
    return by_name(profiles, names, 'profile')


def for_command(command: str) -> Profile:
    """The profile that "scripts/rig @command" builds (its "command")."""
    found = [p for p in load().values() if p.command == command]
    if len(found) != 1:
        raise RigError(f'{PROFILES_INI}: {len(found)} profiles have "command = '
                       f'{command}"; the command needs exactly one')
    return found[0]


def select_for_run(names: Sequence[str]) -> list[Profile]:
    """select() for "rig run": a profile of another command is an error."""
    selected = select(names)
    for p in selected:
        if p.command != 'run':
            raise RigError(f'profile {p.name} is run by "scripts/rig {p.command}"')
    return selected
