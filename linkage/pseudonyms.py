"""Adres and pand pseudonyms (docs/contract.md §3.6-3.7): HMAC-SHA256 over the canonical strings.

Whole columns are hashed at once by the C extension `linkage._hmac_bulk` (the key's pad blocks are
hashed once, the CPU's SHA instructions are used, and a column is split over all cores). Where the
extension could not be built, the same HMAC runs through hashlib with precomputed pad states: same
output, slower. tests/test_canonical_equivalence.py holds both against Python's `hmac`.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from linkage.keys import Key

try:
    from linkage import _hmac_bulk
except ImportError:  # no C compiler at install time
    _hmac_bulk = None

ADDRESS_PREFIX = "adres:v1:"
BUILDING_PREFIX = "pand:v1:"
HEX_LENGTH = 64
PARALLEL_MIN_ROWS = 50_000
HUGE_PAGE_MIN_BYTES = 64 << 20
_BLOCK = 64


def _as_arrow_strings(values: Iterable[str] | pa.Array | pa.ChunkedArray | pd.Series) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if not isinstance(values, pa.Array):
        if isinstance(values, pd.Series | pd.Index | np.ndarray):
            values = pa.array(values, from_pandas=True)
        else:
            values = pa.array(values if isinstance(values, list | tuple) else list(values), pa.string())
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
    if values.type not in (pa.string(), pa.large_string()):
        try:
            values = values.cast(pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            raise TypeError("pseudoniemen worden alleen van tekst gemaakt") from None
    if values.null_count:
        raise TypeError("een lege waarde (null) kan geen pseudoniem krijgen")
    return values


def _pad_states(secret: bytes) -> tuple[Any, Any]:
    block = hashlib.sha256(secret).digest() if len(secret) > _BLOCK else secret
    block = block.ljust(_BLOCK, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
    return inner, outer


def _hex_hashlib(secret: bytes, prefix: bytes, values: pa.Array) -> bytes:
    inner, outer = _pad_states(secret)
    digests = []
    for value in values.to_pylist():
        h = inner.copy()
        h.update(prefix + value.encode("utf-8"))
        o = outer.copy()
        o.update(h.digest())
        digests.append(o.hexdigest())
    return "".join(digests).encode("ascii")


def _output_buffer(size: int) -> bytearray | mmap.mmap:
    """A writable buffer for `size` bytes of digests; big ones in transparent huge pages where the OS has
    them, which saves most of the page faults of first writing a few hundred megabytes."""
    if size < HUGE_PAGE_MIN_BYTES or not hasattr(mmap, "MADV_HUGEPAGE"):
        return bytearray(size)
    buffer = mmap.mmap(-1, size)
    try:
        buffer.madvise(mmap.MADV_HUGEPAGE)
    except OSError:
        pass  # no huge pages here: an ordinary anonymous mapping
    return buffer


def _hex_bulk(secret: bytes, prefix: bytes, values: pa.Array) -> bytes | bytearray | mmap.mmap:
    if len(secret) > _BLOCK:
        secret = hashlib.sha256(secret).digest()
    _, offsets, data = values.buffers()
    width = 8 if values.type == pa.large_string() else 4
    data = data if data is not None else b""
    n, start = len(values), values.offset
    workers = min(os.cpu_count() or 1, 8)
    if n < PARALLEL_MIN_ROWS or workers == 1:
        return _hmac_bulk.hmac_hex_column(secret, prefix, offsets, data, width, start, n)
    # The extension releases the GIL, so threads hash their part of the column side by side, each
    # writing straight into its slice of one output buffer.
    out = _output_buffer(n * HEX_LENGTH)
    view = memoryview(out)
    bounds = np.linspace(0, n, workers + 1).astype(int)

    def part(lo: int, hi: int) -> None:
        _hmac_bulk.hmac_hex_column(secret, prefix, offsets, data, width, start + lo, hi - lo,
                                   view[lo * HEX_LENGTH:hi * HEX_LENGTH])

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(part, bounds[:-1], bounds[1:]))
    return out


def _hmac_hex(secret: bytes, prefix: str, values: Iterable[str] | pa.Array | pd.Series
              ) -> bytes | bytearray | mmap.mmap:
    """The hex digests of HMAC-SHA256(secret, prefix + value), 64 bytes per value, back to back."""
    column = _as_arrow_strings(values)
    if not len(column):
        return b""
    encoded = prefix.encode("utf-8")
    if _hmac_bulk is None:
        return _hex_hashlib(secret, encoded, column)
    return _hex_bulk(secret, encoded, column)


def _hex_column(digests: bytes | bytearray | mmap.mmap) -> pa.Array:
    n = len(digests) // HEX_LENGTH
    large = len(digests) >= 2**31
    offsets = np.arange(0, (n + 1) * HEX_LENGTH, HEX_LENGTH, dtype=np.int64 if large else np.int32)
    return pa.Array.from_buffers(pa.large_string() if large else pa.string(), n,
                                 [None, pa.py_buffer(offsets), pa.py_buffer(digests)])


def _hex_list(digests: bytes | bytearray | mmap.mmap) -> list[str]:
    text = str(digests, "ascii")
    return [text[i:i + HEX_LENGTH] for i in range(0, len(text), HEX_LENGTH)]


def address_pseudonyms(key: Key, canonical: Iterable[str]) -> list[str]:
    """Adres pseudonyms for canonical address strings (`1234AB|12|A|3`)."""
    return _hex_list(_hmac_hex(key.secret, ADDRESS_PREFIX, canonical))


def building_pseudonyms(key: Key, pand: Iterable[str]) -> list[str]:
    """Pand pseudonyms for `postcode|huisnummer` strings."""
    return _hex_list(_hmac_hex(key.secret, BUILDING_PREFIX, pand))


def address_pseudonym_column(key: Key, canonical: pa.Array | pd.Series | Iterable[str]) -> pa.Array:
    """`address_pseudonyms` as an Arrow string column (no Python string per row)."""
    return _hex_column(_hmac_hex(key.secret, ADDRESS_PREFIX, canonical))


def optional_address_pseudonym_column(key: Key, canonical: pa.Array | pd.Series | Iterable[str | None]
                                      ) -> pa.Array:
    """Adres pseudonyms for a column in which a missing value (null, <NA>) has none: the column of
    alternative readings (docs/contract.md §3 step 8). Missing stays null; the rest as
    `address_pseudonym_column`."""
    if isinstance(canonical, pa.ChunkedArray):
        canonical = canonical.combine_chunks()
    if not isinstance(canonical, pa.Array):
        canonical = pa.array(canonical if isinstance(canonical, pd.Series | np.ndarray) else list(canonical),
                             pa.string(), from_pandas=True)
    present = canonical.is_valid().to_numpy(zero_copy_only=False)
    if present.all():
        return address_pseudonym_column(key, canonical)
    hashed = address_pseudonym_column(key, canonical.drop_null())
    # Each present row takes the next digest in order; a missing row takes a null position.
    positions = pa.array(np.cumsum(present) - 1, pa.int64(), mask=~present)
    return hashed.take(positions)


def building_pseudonym_column(key: Key, pand: pa.Array | pd.Series | Iterable[str]) -> pa.Array:
    """`building_pseudonyms` as an Arrow string column (no Python string per row)."""
    return _hex_column(_hmac_hex(key.secret, BUILDING_PREFIX, pand))


def bulk_hmac_in_use() -> str:
    """Which HMAC implementation runs here: for benchmark reports, never for results."""
    if _hmac_bulk is None:
        return "hashlib (C-extensie niet gebouwd)"
    if _hmac_bulk.sha_extensions():
        return "C-extensie met SHA-instructies"
    return "C-extensie, draagbare SHA-256"
