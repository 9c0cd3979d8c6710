"""The key file of CONTRACT §2: creation, loading and the key_id.

The key bytes never leave this module except as the argument of an HMAC; they are never
logged, printed or put into an exception message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

KEY_FORMAT = "factlab-key"
KEY_VERSION = 1
KEY_BYTES = 32


class KeyFileError(Exception):
    """A key file that cannot be used; the message is Dutch and never contains key material."""


@dataclass(frozen=True)
class Key:
    key_id: str
    created: str
    secret: bytes = field(repr=False)

    def __repr__(self) -> str:  # never show the secret, not even by accident in a traceback
        return f"Key(key_id={self.key_id!r}, created={self.created!r})"


def compute_key_id(secret: bytes) -> str:
    return hmac.new(secret, b"factlab:key-id:v1", hashlib.sha256).hexdigest()[:16]


def new_key() -> Key:
    secret = secrets.token_bytes(KEY_BYTES)
    created = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return Key(compute_key_id(secret), created, secret)


def write_key(key: Key, path: Path) -> None:
    """Write the key file with mode 0600, refusing to overwrite an existing file."""
    document = {
        "format": KEY_FORMAT,
        "version": KEY_VERSION,
        "key": base64.b64encode(key.secret).decode("ascii"),
        "key_id": key.key_id,
        "created": key.created,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} bestaat al; een sleutel wordt nooit overschreven. Kies een nieuwe naam.") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    os.chmod(path, 0o600)


def load_key(path: Path, *, require_private: bool = True) -> Key:
    """Load and check a key file; refuses files that others can read."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"sleutelbestand {path} bestaat niet") from None
    if require_private and mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"sleutelbestand {path} is leesbaar voor anderen (rechten {stat.S_IMODE(mode):o}); "
            f"maak het privé met: chmod 600 {path}"
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise KeyFileError(f"{path} is geen leesbaar Factlab-sleutelbestand (JSON)") from None
    if not isinstance(document, dict) or document.get("format") != KEY_FORMAT or document.get("version") != KEY_VERSION:
        raise KeyFileError(f"{path} is geen Factlab-sleutelbestand versie {KEY_VERSION}")
    try:
        secret = base64.b64decode(document["key"], validate=True)
    except (KeyError, ValueError, TypeError):
        raise KeyFileError(f"{path}: het veld 'key' is geen geldige base64-sleutel") from None
    if len(secret) != KEY_BYTES:
        raise KeyFileError(f"{path}: de sleutel moet {KEY_BYTES} bytes lang zijn")
    key_id = compute_key_id(secret)
    if document.get("key_id") != key_id:
        raise KeyFileError(f"{path}: key_id klopt niet met de sleutel; het bestand is beschadigd of aangepast")
    return Key(key_id, str(document.get("created", "")), secret)
