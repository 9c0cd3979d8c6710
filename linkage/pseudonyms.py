"""Adres and pand pseudonyms (CONTRACT §3.6-3.7): HMAC-SHA256 over the canonical strings."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from linkage.keys import Key

ADDRESS_PREFIX = "adres:v1:"
BUILDING_PREFIX = "pand:v1:"


def _hmac_hex_many(secret: bytes, prefix: str, values: Iterable[str]) -> list[str]:
    digest = hmac.digest
    encoded_prefix = prefix.encode("utf-8")
    return [digest(secret, encoded_prefix + v.encode("utf-8"), hashlib.sha256).hex() for v in values]


def address_pseudonyms(key: Key, canonical: Iterable[str]) -> list[str]:
    """Adres pseudonyms for canonical address strings (`1234AB|12|A|3`)."""
    return _hmac_hex_many(key.secret, ADDRESS_PREFIX, canonical)


def building_pseudonyms(key: Key, pand: Iterable[str]) -> list[str]:
    """Pand pseudonyms for `postcode|huisnummer` strings."""
    return _hmac_hex_many(key.secret, BUILDING_PREFIX, pand)
