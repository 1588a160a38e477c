"""Fetch a pinned Debian package without touching the system's apt setup.

A base's kernel comes from a Debian package of an exact version, possibly
from another suite than the machine's (linux-source-7.3 is in
trixie-backports; a Debian 12 machine knows only bookworm). apt runs with
a private configuration under the cache:

  <cache>/apt/<suite>/sources.list    the one suite, signed-by the keyring
  <cache>/apt/<suite>/lists/          its indexes
  <cache>/apt/<suite>/status          an empty dpkg status
  <cache>/apt/<suite>/archives/       apt's download cache

apt checks the suite's signature against the keyring and the package's
hash against the signed index. The package is then unpacked with
dpkg-deb -x into a temporary directory, and only a complete tarball is
renamed into <cache>/sources/, so an interrupted or failed fetch leaves
nothing that a later run would take for good.
"""

import hashlib
import os
import re
import shutil
import subprocess

from .util import RigError, cache_dir, info

DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg'
TIMEOUT = 600


class Package:
    """One pinned package: where it comes from and the file it holds."""

    def __init__(self, name: str, version: str, archive: str, suite: str, member: str,
                 keyring: str | None = None) -> None:
        self.name = name
        self.version = version
        self.archive = archive
        self.suite = suite
        self.member = member            # path of the wanted file in the package
        self.keyring = keyring or DEFAULT_KEYRING

    @property
    def label(self) -> str:
        return f'{self.name} {self.version} ({self.suite})'


def _apt_dir(pkg: Package) -> str:
    return os.path.join(cache_dir(), 'apt', re.sub(r'[^\w.-]', '_', pkg.suite))


def _apt_options(pkg: Package) -> list[str]:
    d = _apt_dir(pkg)
    opts = ['-o', f'Dir::Etc::SourceList={d}/sources.list',
            '-o', 'Dir::Etc::SourceParts=/dev/null',
            '-o', f'Dir::State::Lists={d}/lists',
            '-o', f'Dir::State::status={d}/status',
            '-o', f'Dir::Cache={d}/cache',
            '-o', f'Dir::Cache::archives={d}/archives',
            '-o', 'Debug::NoLocking=1']
    if os.geteuid() == 0:
        # As root apt downloads as its _apt user, who cannot write the
        # cache of whoever runs the rig.
        opts += ['-o', 'APT::Sandbox::User=root']
    return opts


def _prepare(pkg: Package) -> None:
    if not os.path.isfile(pkg.keyring):
        raise RigError(f'{pkg.keyring} not found: install debian-archive-keyring '
                       f'(needed to verify {pkg.suite})')
    d = _apt_dir(pkg)
    for sub in ('lists/partial', 'cache', 'archives/partial'):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    with open(os.path.join(d, 'sources.list'), 'w') as f:
        f.write(f'deb [signed-by={pkg.keyring}] {pkg.archive} {pkg.suite} main\n')
    status = os.path.join(d, 'status')
    if not os.path.exists(status):
        open(status, 'w').close()


def _apt(pkg: Package, tool: str, *args: str,
         cwd: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [tool, *_apt_options(pkg), *args]
    try:
        return subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=TIMEOUT,
                              env=dict(os.environ, LC_ALL='C'))
    except FileNotFoundError as err:
        raise RigError(f'cannot run {tool}: {err.strerror} (is this Debian?)') from err
    except subprocess.TimeoutExpired as err:
        raise RigError(f'{tool} {args[0]} took more than {TIMEOUT} s '
                       f'for {pkg.label}') from err


def _update(pkg: Package) -> None:
    # --error-on=any: without it apt-get update exits 0 when it could not
    # reach the archive and only prints "W: Failed to fetch".
    res = _apt(pkg, 'apt-get', 'update', '--error-on=any')
    if res.returncode != 0:
        detail = '\n'.join(ln for ln in res.stderr.splitlines()
                           if ln.startswith(('E:', 'W:', 'Err'))) or res.stderr.strip()
        raise RigError(f'cannot read the index of {pkg.suite} from {pkg.archive} '
                       f'(no network, or a bad signature?):\n{detail}')


def available_versions(pkg: Package) -> list[str]:
    """The versions of @pkg the suite offers now, newest first."""
    res = _apt(pkg, 'apt-cache', 'madison', pkg.name)
    versions = []
    for line in res.stdout.splitlines():
        cols = [c.strip() for c in line.split('|')]
        if len(cols) >= 2 and cols[0] == pkg.name:
            versions.append(cols[1])
    return versions


def _expected_sha256(pkg: Package) -> str | None:
    res = _apt(pkg, 'apt-cache', 'show', f'{pkg.name}={pkg.version}')
    m = re.search(r'^SHA256: ([0-9a-f]{64})$', res.stdout, re.M)
    return m.group(1) if m else None


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            h.update(block)
    return h.hexdigest()


def fetch(pkg: Package, dest: str) -> str:
    """Make @dest the file @pkg.member of the pinned package; return @dest.

    Does nothing when @dest exists: it is only ever created complete.
    """
    if os.path.isfile(dest):
        return dest
    _prepare(pkg)
    info(f'fetching {pkg.label} with a private apt configuration in {_apt_dir(pkg)}')
    _update(pkg)
    versions = available_versions(pkg)
    if pkg.version not in versions:
        have = ', '.join(versions) or 'none'
        raise RigError(f'{pkg.name} {pkg.version} is not in {pkg.suite} any more '
                       f'(it has: {have}); set "version" of this base in '
                       'configs/bases.ini to one of those, or use --kernel DIR')
    work = dest + '.fetch'
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        res = _apt(pkg, 'apt-get', 'download', f'{pkg.name}={pkg.version}', cwd=work)
        debs = [f for f in os.listdir(work) if f.endswith('.deb')]
        if res.returncode != 0 or len(debs) != 1:
            raise RigError(f'apt-get download {pkg.name}={pkg.version} failed:\n'
                           + res.stderr.strip())
        deb = os.path.join(work, debs[0])
        want = _expected_sha256(pkg)
        if want is None:
            raise RigError(f'{debs[0]}: {pkg.suite}\'s index gives no SHA256 for '
                           f'{pkg.name} {pkg.version}, so the download cannot be '
                           'checked; nothing was kept')
        if _sha256(deb) != want:
            raise RigError(f'{debs[0]}: SHA256 does not match {pkg.suite}\'s index '
                           '(corrupt download); nothing was kept, run again')
        unpacked = os.path.join(work, 'unpacked')
        out = subprocess.run(['dpkg-deb', '-x', deb, unpacked], stderr=subprocess.PIPE,
                             text=True)
        member = os.path.join(unpacked, pkg.member)
        if out.returncode != 0:
            raise RigError(f'dpkg-deb -x {debs[0]} failed (corrupt package?): '
                           + out.stderr.strip())
        if not os.path.isfile(member):
            raise RigError(f'{debs[0]} has no {pkg.member}')
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.rename(member, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    info(f'{pkg.label}: {os.path.relpath(dest, cache_dir())} '
         f'({os.path.getsize(dest) // (1 << 20)} MiB)')
    return dest
