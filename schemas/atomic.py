"""Write-to-temp-then-rename, so a failed run never leaves a half-written file or folder.

An output folder is replaced without a window in which it is missing: the complete new folder and the
old one trade places in one `renameat2(RENAME_EXCHANGE)` call (Linux ≥ 3.15, via ctypes), after which the
old one is removed under the temporary name. Where the exchange is not available (another system, a file
system without it) the old folder is first renamed aside as `.OUT.<pid>.<random>.old`; a run that dies
between the two renames leaves that name behind and the next run puts it back (`remove_stale_temporaries`).
See docs/prefect.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_NO_EXCHANGE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP}
LISTED_FOREIGN = 10


class OutputFolderError(Exception):
    """An output folder that holds something other than a previous Factlab output (Dutch message)."""


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; it replaces `target` only when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _libc_renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _libc_renameat2()


def exchange(first: Path, second: Path) -> bool:
    """Swap two existing paths in one atomic step; False when this system or file system cannot."""
    if _RENAMEAT2 is None:
        return False
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(second))


def _sibling(target: Path, suffix: str) -> Path:
    """A new private folder name beside `target` that names this process: `.OUT.<pid>.<random><suffix>`."""
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.{os.getpid()}.", suffix=suffix, dir=target.parent))


def _swap_in(tmp: Path, target: Path) -> None:
    """Put the complete folder `tmp` in place of `target`; the previous `target` is removed afterwards."""
    if not target.exists():
        os.rename(tmp, target)
        return
    if exchange(tmp, target):  # `tmp` now holds the previous output
        shutil.rmtree(tmp, ignore_errors=True)
        return
    old = _sibling(target, ".old")
    os.rmdir(old)
    os.rename(target, old)
    try:
        os.rename(tmp, target)
    except BaseException:
        os.rename(old, target)
        raise
    shutil.rmtree(old, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; it replaces `target` whole when the block succeeds.

    The previous output stays untouched under its own name until the new one is complete, and is never
    missing. Leftovers of a dead run beside `target` are repaired or removed first. A symlinked `target`
    is followed: the folder it points to is replaced, the link stays.
    """
    target = Path(os.path.realpath(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
    tmp = _sibling(target, ".tmp")
    try:
        yield tmp
        _swap_in(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?P<pid>[0-9]+)\.[^.]+(?P<kind>\.tmp|\.old)$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temporaries(target: Path) -> list[str]:
    """Repair or remove what a dead run left beside `target`; returns the names it handled.

    `.OUT.<pid>.*.old` is the previous output moved aside by a run that died before the new one was in
    place: it goes back to OUT when OUT is missing, else it is removed. `.OUT.<pid>.*.tmp` is an unfinished
    new output (or, after an exchange, the old one) and is removed. Folders of a live process are left.
    """
    target = Path(os.path.realpath(target))
    if not target.parent.is_dir():
        return []
    handled = []
    for entry in sorted(target.parent.iterdir()):
        match = _LEFTOVER.match(entry.name)
        if not match or match["name"] != target.name or _alive(int(match["pid"])):
            continue
        if match["kind"] == ".old" and not target.exists():
            os.rename(entry, target)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        handled.append(entry.name)
    return handled


WORKDIR_PREFIX = "factlab-"
_WORKDIR = re.compile(r"^factlab-(?P<pid>[0-9]+)-")


@contextlib.contextmanager
def private_workdir(kind: str = "werk") -> Iterator[Path]:
    """A private (0700) work folder in the system's temporary folder, removed afterwards.

    Its name `factlab-<pid>-<kind>-…` names the process, so the work folders of a run killed with
    SIGKILL (staged pseudonyms, rejected rows, DuckDB's spill) are removed by the next command.
    """
    remove_stale_workdirs()
    with tempfile.TemporaryDirectory(prefix=f"{WORKDIR_PREFIX}{os.getpid()}-{kind}-") as work:
        yield Path(work)


def remove_stale_workdirs(base: Path | None = None) -> list[str]:
    """Remove this user's Factlab work folders whose process is gone; returns their names."""
    base = Path(base or tempfile.gettempdir())
    removed = []
    with contextlib.suppress(OSError):
        for entry in base.iterdir():
            match = _WORKDIR.match(entry.name)
            if not match or _alive(int(match["pid"])) or entry.is_symlink() or not entry.is_dir():
                continue
            if entry.stat().st_uid != os.getuid():
                continue
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry.name)
    return removed


def check_output_folder(target: Path, known: Iterable[str], marker: str) -> None:
    """Refuse an existing, non-empty `target` that is not a previous Factlab output, naming what is foreign.

    A previous output holds `marker` and only files named in `known`; everything else (a note, a subfolder)
    would be deleted by replacing the folder, so the run stops instead.
    """
    if not target.exists():
        return
    if not target.is_dir():
        raise OutputFolderError(f"uitvoermap {target} bestaat al en is geen map; kies een nieuwe of lege map")
    entries = sorted(target.iterdir())
    if not entries:
        return
    allowed = set(known)
    foreign = [
        e.name + ("/" if e.is_dir() else "") for e in entries if e.name not in allowed or not e.is_file()
    ]
    if foreign:
        shown = ", ".join(foreign[:LISTED_FOREIGN]) + (" …" if len(foreign) > LISTED_FOREIGN else "")
        raise OutputFolderError(
            f"uitvoermap {target} bevat bestanden die geen Factlab-uitvoer zijn ({shown}); Factlab vervangt "
            "de hele map en zou ze wissen. Kies een nieuwe of lege map, of haal ze eerst weg"
        )
    if not (target / marker).is_file():
        raise OutputFolderError(
            f"uitvoermap {target} is geen eerdere Factlab-uitvoer ({marker} ontbreekt); kies een nieuwe of "
            "lege map"
        )
