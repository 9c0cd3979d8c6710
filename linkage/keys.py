"""The key file of docs/contract.md §2: creation, loading and the key_id.

The key bytes never leave this module except as the argument of an HMAC; they are never
logged, printed, pickled or put into an exception message. A key is only ever passed around as
the path of a private key file: never as a command-line value or an environment variable, which
other users and crash reports can read (`/proc/<pid>/cmdline`, `/proc/<pid>/environ`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from schemas.atomic import remove_stale_temporaries

KEY_FORMAT = "factlab-key"
KEY_VERSION = 1
KEY_BYTES = 32
ROTATION_DAYS = 184
"""A key serves one reporting period (at most half a year by default); older keys get a warning."""

_HEX_SECRET = re.compile(r"^[0-9a-fA-F]{64}$")
# Base64 of 32 bytes is 44 characters; a path made of it loses the slashes it repeats ("a//b" becomes
# "a/b"), so anything of 38-44 base64 characters (no dot, no other sign) is taken for key material.
_BASE64_SECRET_AS_PATH = re.compile(r"^[A-Za-z0-9+/]{38,44}={0,2}$")


class KeyFileError(Exception):
    """A key file that cannot be used; the message is Dutch and never contains key material."""


@dataclass(frozen=True)
class Key:
    key_id: str
    created: str
    secret: bytes = field(repr=False)

    def __repr__(self) -> str:  # never show the secret, not even by accident in a traceback
        return f"Key(key_id={self.key_id!r}, created={self.created!r})"

    __str__ = __repr__

    def __reduce_ex__(self, protocol: object) -> object:
        # Pickling would copy the secret into result stores, caches or crash dumps.
        raise TypeError("een Factlab-sleutel wordt nooit geserialiseerd; geef het pad van het sleutelbestand")


def compute_key_id(secret: bytes) -> str:
    return hmac.new(secret, b"factlab:key-id:v1", hashlib.sha256).hexdigest()[:16]


def new_key() -> Key:
    secret = secrets.token_bytes(KEY_BYTES)
    created = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Key(compute_key_id(secret), created, secret)


def looks_like_key_material(text: str) -> bool:
    """True for a string that may be a secret itself (base64 or hex of 32 bytes, or a key document).

    Used to avoid echoing such a string back when someone passes the key where a path belongs.
    """
    stripped = text.strip()
    if '"key"' in stripped or _HEX_SECRET.match(stripped) or _BASE64_SECRET_AS_PATH.match(stripped):
        return True
    try:
        return len(base64.b64decode(stripped, validate=True)) == KEY_BYTES
    except (binascii.Error, ValueError):
        return False


def describe_key_path(path: Path | str) -> str:
    """The path as it may appear in a message: hidden when it looks like key material."""
    if looks_like_key_material(str(path)):
        return "(waarde verborgen: dit lijkt de sleutel zelf in plaats van het pad naar een sleutelbestand)"
    return str(path)


def write_key(key: Key, path: Path) -> None:
    """Write the key file with mode 0600, refusing to overwrite an existing file.

    The document is written to a private temporary file beside `path` and then hard-linked into
    place, so a crash never leaves a half-written key and an existing file is never replaced.
    """
    document = {
        "format": KEY_FORMAT,
        "version": KEY_VERSION,
        "key": base64.b64encode(key.secret).decode("ascii"),
        "key_id": key.key_id,
        "created": key.created,
    }
    path = Path(path)
    if path.exists() or path.is_symlink():
        raise KeyFileError(f"{path} bestaat al; een sleutel wordt nooit overschreven. Kies een nieuwe naam.")
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)  # a key half-written by a killed `factlab key new`
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp",
                                    dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o600)
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            raise KeyFileError(
                f"{path} bestaat al; een sleutel wordt nooit overschreven. Kies een nieuwe naam."
            ) from None
    finally:
        os.unlink(tmp_name)


def load_key(path: Path, *, require_private: bool = True) -> Key:
    """Load and check a key file; refuses files that others can read."""
    shown = describe_key_path(path)
    path = Path(path)
    try:
        info = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise KeyFileError(f"sleutelbestand {shown} bestaat niet; geef het pad van een sleutel") from None
    except OSError:
        raise KeyFileError(f"sleutelbestand {shown} is niet te lezen") from None
    # A pipe is allowed too, so a key kept encrypted at rest can be read as `--key <(gpg -d k.json.gpg)`.
    if not (stat.S_ISREG(info.st_mode) or stat.S_ISFIFO(info.st_mode)):
        raise KeyFileError(f"sleutelbestand {shown} is geen gewoon bestand")
    mode = info.st_mode
    if require_private and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"sleutelbestand {path} is leesbaar voor anderen (rechten {stat.S_IMODE(mode):o}); "
            f"maak het privé met: chmod 600 {path}"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise KeyFileError(f"{path} is geen leesbaar Factlab-sleutelbestand (JSON)") from None
    if (not isinstance(document, dict) or document.get("format") != KEY_FORMAT
            or document.get("version") != KEY_VERSION):
        raise KeyFileError(f"{path} is geen Factlab-sleutelbestand versie {KEY_VERSION}")
    try:
        secret = base64.b64decode(document["key"], validate=True)
    except (KeyError, ValueError, TypeError):
        raise KeyFileError(f"{path}: het veld 'key' is geen geldige base64-sleutel") from None
    if len(secret) != KEY_BYTES:
        raise KeyFileError(f"{path}: de sleutel moet {KEY_BYTES} bytes lang zijn")
    key_id = compute_key_id(secret)
    if document.get("key_id") != key_id:
        raise KeyFileError(f"{path}: key_id past niet bij de sleutel; het bestand is beschadigd of aangepast")
    return Key(key_id, str(document.get("created", "")), secret)


def key_age_days(key: Key, now: datetime | None = None) -> int | None:
    """Whole days since the key was created; None when the creation time is unreadable."""
    try:
        created = datetime.fromisoformat(key.created.replace("Z", "+00:00"))
    except ValueError:
        return None
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - created).days
