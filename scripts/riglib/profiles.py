"""Profiles are data: configs/profiles.ini names each one's fragments."""

import os

from .util import REPO, RigError, read_ini

PROFILES_INI = os.path.join(REPO, 'configs', 'profiles.ini')


class Profile:
    def __init__(self, name, section):
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
        # gcov on UML with GCC >= 7: see kunitrun.gcov_compiler_dir().
        self.libgcov_fix = section.getboolean('libgcov_fix', False)
        self.default = section.getboolean('default', False)
        self.userspace = section.getboolean('userspace', False)


def load():
    parser = read_ini(PROFILES_INI)
    return {name: Profile(name, parser[name]) for name in parser.sections()}


def select(names):
    """The named profiles, or the default ones; unknown names are an error."""
    profiles = load()
    if not names:
        return [p for p in profiles.values() if p.default]
    unknown = [n for n in names if n not in profiles]
    if unknown:
        raise RigError(f'unknown profile {", ".join(unknown)}; known: '
                       + ', '.join(profiles))
    return [profiles[n] for n in names]
