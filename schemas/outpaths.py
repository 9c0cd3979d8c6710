"""Output paths that never overwrite an input, are checked before any work, and are written all or none.

Every command that writes files (pseudonymise, register, validate --rapport, key new, ttp rekey, run) names
its inputs and outputs here first: an output that resolves (through symlinks) to an input or to another
output is refused, and so is an output whose folder cannot be written. Messages are Dutch and name paths,
never file contents.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from schemas.atomic import remove_stale_temporaries


class OutputPathError(Exception):
    """An output that would overwrite an input or cannot be written (Dutch message)."""


_OS_ERRORS_NL = {
    errno.ENOSPC: "de schijf is vol",
    errno.EDQUOT: "de schijfruimte (quotum) is op",
    errno.EACCES: "geen schrijfrechten",
    errno.EPERM: "geen schrijfrechten",
    errno.EROFS: "het bestandssysteem is alleen-lezen",
    errno.ENOENT: "de map bestaat niet",
    errno.ENOTDIR: "een deel van het pad is geen map",
    errno.EISDIR: "het pad is een map",
    errno.EIO: "lees- of schrijffout van het apparaat",
}


def describe_os_error(exc: OSError) -> str:
    """A short Dutch cause for an OSError (full disk, no rights, …), without any file content."""
    return _OS_ERRORS_NL.get(exc.errno or 0, exc.strerror or "schrijffout")


def write_failed(exc: OSError, where: Path | str) -> str:
    """The Dutch message for a write that failed on the machine's state (disk full, no rights)."""
    return f"schrijven naar {where} is mislukt: {describe_os_error(exc)}; er is niets (half) weggeschreven"


def _real(path: Path) -> str:
    return os.path.realpath(os.path.abspath(path))


def _existing_ancestor(path: Path) -> Path:
    folder = Path(os.path.abspath(path)).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _writable_folder(label: str, path: Path, *, folder: bool) -> None:
    """Raise when `path` (a file, or with `folder` a folder to create or replace) cannot be written."""
    where = Path(os.path.abspath(path))
    if where.exists() and folder and not where.is_dir():
        raise OutputPathError(f"{label} {path} bestaat al en is geen map")
    if where.is_dir() and not folder:
        raise OutputPathError(f"{label} {path} is een map; geef een bestandsnaam")
    parent = _existing_ancestor(where)
    if not parent.is_dir():
        raise OutputPathError(f"{label} {path}: {parent} is geen map")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputPathError(
            f"{label} {path} kan niet geschreven worden: geen schrijfrechten in de map {parent}; "
            "kies een andere map"
        )


def check_outputs(
    inputs: Mapping[str, Path | None], outputs: Mapping[str, Path | None], folders: tuple[str, ...] = ()
) -> None:
    """Refuse outputs that resolve to an input or to each other, or whose folder is not writable.

    `inputs` and `outputs` map a Dutch label (e.g. "invoerbestand", "--out") to a path; None is skipped.
    An input folder counts too: an output inside it is allowed, the folder itself is not.
    Labels named in `folders` are output folders (created or replaced whole) rather than files.
    """
    given_in = {label: path for label, path in inputs.items() if path is not None}
    given_out = {label: path for label, path in outputs.items() if path is not None}
    seen: dict[str, tuple[str, Path]] = {}
    for label, path in given_in.items():
        seen.setdefault(_real(path), (label, path))
    for label, path in given_out.items():
        real = _real(path)
        if real in seen:
            other_label, other = seen[real]
            raise OutputPathError(
                f"{label} {path} is hetzelfde bestand als {other_label} {other}; Factlab overschrijft nooit "
                "een invoerbestand of een eigen uitvoer: kies een ander pad"
            )
        seen[real] = (label, path)
    for label in folders:
        if given_out.get(label) is None:
            continue
        inside = _real(given_out[label]) + os.sep
        for other_label, other in given_in.items():
            if _real(other).startswith(inside):
                raise OutputPathError(
                    f"{label} {given_out[label]} bevat {other_label} {other}; de uitvoermap wordt in zijn "
                    "geheel vervangen: kies een map buiten de invoer"
                )
    for label, path in given_out.items():
        _writable_folder(label, path, folder=label in folders)


@contextlib.contextmanager
def atomic_files(*targets: Path) -> Iterator[tuple[Path, ...]]:
    """Temporary paths beside each target; all replace their targets when the block succeeds, or none.

    A target that existed is kept as a hard link until every rename succeeded, so a failure half-way
    puts the earlier targets back.
    """
    temps: list[Path] = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(target)
            fd, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp",
                                        dir=target.parent)
            os.close(fd)
            temps.append(Path(name))
        yield tuple(temps)
        _replace_all(list(zip(temps, targets, strict=True)))
    finally:
        for tmp in temps:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def _replace_all(pairs: list[tuple[Path, Path]]) -> None:
    done: list[tuple[Path, Path | None]] = []  # replaced targets and their previous version (or None)
    backups: list[Path] = []
    try:
        for tmp, target in pairs:
            backup = None
            if target.exists():
                backup = target.with_name(f".{target.name}.{os.getpid()}.vorige.tmp")
                with contextlib.suppress(FileNotFoundError):
                    backup.unlink()
                os.link(target, backup)
                backups.append(backup)
            os.replace(tmp, target)
            done.append((target, backup))
    except BaseException:
        for target, backup in reversed(done):
            with contextlib.suppress(OSError):
                if backup is not None:
                    os.replace(backup, target)
                else:
                    target.unlink()
        raise
    finally:
        for backup in backups:
            with contextlib.suppress(FileNotFoundError):
                backup.unlink()
