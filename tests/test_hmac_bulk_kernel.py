"""linkage/_hmac_bulk.c byte for byte against Python's hmac, on both of its SHA-256 paths.

The SHA-instruction path hashes short messages (prefix + value up to 55 bytes: one padded block)
several side by side, building their blocks from per-length templates and reading values straight
from the column's data buffer (or from a copy near its ends); longer messages go one at a time.
These tests cover every message length around those seams, random UTF-8 text up to 200 bytes, the
realistic address shape, keys of every length class, odd and even counts, start offsets, both
offset widths and the `out` argument.
"""

from __future__ import annotations

import hashlib
import hmac
import mmap
import random
import sys
from array import array
from functools import cache
from pathlib import Path

import pyarrow as pa
import pytest

from linkage import pseudonyms
from linkage.keys import Key, compute_key_id

bulk = pseudonyms._hmac_bulk
pytestmark = pytest.mark.skipif(bulk is None, reason="C-extensie niet gebouwd")

PREFIXES = [b"adres:v1:", b"pand:v1:", b"", b"x", b"p" * 15, b"q" * 16, b"r" * 47, b"s" * 54, b"t" * 55,
            b"u" * 56, b"v" * 64, b"w" * 130]
KEYS = {
    "kort": b"k",
    "32 bytes": bytes(range(1, 33)),
    "63 bytes": bytes(range(100, 163)),
    "64 bytes": bytes(range(64, 128)),
    "langer dan 64": bytes(range(200)) * 3,
}
# From ASCII to four-byte UTF-8, so byte lengths and character counts part ways.
ALPHABET = "abcXYZ0189|-/ .éßÄ€ıſ１２ﬀ一二𝄞😀"


def _sha_cpu() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    if sys.platform != "linux" or not cpuinfo.exists():
        return False
    return any(line.startswith("flags") and " sha_ni" in line for line in cpuinfo.read_text().splitlines())


@pytest.fixture(params=["sha-instructies", "draagbaar"])
def path(request):
    if request.param == "sha-instructies":
        if not bulk.sha_extensions():
            pytest.skip("de CPU heeft geen SHA-instructies")
    else:
        bulk.use_portable(True)
        assert not bulk.sha_extensions()
    try:
        yield request.param
    finally:
        bulk.use_portable(False)


def _random_text(rng: random.Random, max_bytes: int) -> str:
    target = rng.randint(0, max_bytes)
    chars, size = [], 0
    while True:
        char = rng.choice(ALPHABET)
        width = len(char.encode("utf-8"))
        if size + width > target:
            return "".join(chars)
        chars.append(char)
        size += width


def _values() -> list[str]:
    rng = random.Random(20240601)
    values = [_random_text(rng, 200) for _ in range(1500)]
    # Every byte length from empty to well past two blocks, for every prefix's seams (55/56, 119/120).
    values += ["a" * n for n in range(0, 140)]
    values += ["é" * n for n in range(0, 40)]
    letters = ["", "A", "b", "Z"]
    toevoegingen = ["", "1", "bis", "A3", "1234"]
    values += [
        f"{1000 + i % 9000}AB|{i % 300 + 1}|{letters[i % 4]}|{toevoegingen[i % 5]}" for i in range(1500)
    ]
    values += [f"{1000 + i % 9000}AB|{i % 300 + 1}" for i in range(500)]
    values += ["x" * 5000, "", "ÿ" * 3000, ""]
    rng.shuffle(values)
    return values


VALUES = _values()


def _expected(secret: bytes, prefix: bytes, values: list[str]) -> list[str]:
    return [hmac.new(secret, prefix + v.encode("utf-8"), hashlib.sha256).hexdigest() for v in values]


@cache
def _expected_all(secret: bytes, prefix: bytes) -> list[str]:
    return _expected(secret, prefix, VALUES)


def _column_key(secret: bytes) -> bytes:
    """What linkage/pseudonyms.py hands the extension: keys longer than a block are hashed first."""
    return hashlib.sha256(secret).digest() if len(secret) > 64 else secret


def _split(digests: bytes | bytearray) -> list[str]:
    text = bytes(digests).decode("ascii")
    return [text[i:i + 64] for i in range(0, len(text), 64)]


def _hash(secret: bytes, prefix: bytes, column: pa.Array, start: int, count: int, out=None):
    _, offsets, data = column.buffers()
    width = 8 if column.type == pa.large_string() else 4
    data = data if data is not None else b""
    args = (_column_key(secret), prefix, offsets, data, width, column.offset + start, count)
    return bulk.hmac_hex_column(*args) if out is None else bulk.hmac_hex_column(*args, out)


@pytest.mark.parametrize("key_name", list(KEYS))
@pytest.mark.parametrize("arrow_type", [pa.string(), pa.large_string()], ids=["offsets32", "offsets64"])
def test_columns_equal_python_hmac(path, key_name, arrow_type):
    secret = KEYS[key_name]
    # A sliced array: the column's own offset is not 0 either.
    column = pa.array(["voorloper", *VALUES], arrow_type).slice(1)
    for prefix in PREFIXES:
        expected = _expected_all(secret, prefix)
        assert _split(_hash(secret, prefix, column, 0, len(VALUES))) == expected, prefix
        # Odd and even counts from odd and even starts, down to a single value and none.
        for start, count in ((1, 2), (3, 1), (7, 1000), (8, 999), (len(VALUES) - 5, 5), (len(VALUES) - 1, 1),
                             (0, 0), (len(VALUES), 0)):
            got = _hash(secret, prefix, column, start, count)
            assert _split(got) == expected[start:start + count], (prefix, start, count)


@pytest.mark.parametrize("key_name", ["kort", "64 bytes", "langer dan 64"])
def test_out_buffer_slices(path, key_name):
    secret = KEYS[key_name]
    column = pa.array(VALUES)
    for prefix in (b"adres:v1:", b"pand:v1:", b"u" * 56):
        expected = _expected_all(secret, prefix)
        out = bytearray(b"#" * (64 * (len(VALUES) + 2)))
        view = memoryview(out)
        bounds = [0, 1, 2, 333, 1000, 1001, len(VALUES)]
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
            # Each part lands one slot further on, so the slots around it must stay untouched.
            assert _hash(secret, prefix, column, lo, hi - lo, view[64 * (lo + 1):64 * (hi + 1)]) is None
        assert out[:64] == b"#" * 64 and out[-64:] == b"#" * 64
        assert _split(out[64:-64]) == expected, prefix


def test_values_at_both_ends_of_an_exact_data_buffer(path):
    """Buffers without any slack: the first and last values cannot be read in 64-byte blocks in place."""
    secret = KEYS["32 bytes"]
    rng = random.Random(7)
    for prefix in (b"adres:v1:", b"", b"t" * 55):
        for n in (1, 2, 3, 4, 5, 17):
            values = [_random_text(rng, 20) for _ in range(n)]
            encoded = [v.encode("utf-8") for v in values]
            data = b"".join(encoded)
            ends = [0]
            for item in encoded:
                ends.append(ends[-1] + len(item))
            for code, width in (("i", 4), ("q", 8)):
                offsets = array(code, ends).tobytes()
                got = bulk.hmac_hex_column(secret, prefix, offsets, data, width, 0, n)
                assert _split(got) == _expected(secret, prefix, values), (prefix, n, width)


def test_pseudonym_functions_hash_long_keys_first(path):
    values = VALUES[:400]
    for secret in KEYS.values():
        key = Key(compute_key_id(secret), "", secret)
        assert pseudonyms.address_pseudonyms(key, values) == _expected(secret, b"adres:v1:", values)
        assert pseudonyms.building_pseudonym_column(key, pa.array(values, pa.large_string())).to_pylist() == (
            _expected(secret, b"pand:v1:", values)
        )


def test_columns_split_over_threads_equal_python_hmac(path, monkeypatch):
    monkeypatch.setattr(pseudonyms, "PARALLEL_MIN_ROWS", 10)
    secret = KEYS["langer dan 64"]
    key = Key(compute_key_id(secret), "", secret)
    column = pa.array(["voorloper", *VALUES]).slice(1)
    assert pseudonyms.address_pseudonym_column(key, column).to_pylist() == _expected_all(secret, b"adres:v1:")


def test_huge_page_output_buffer_gives_the_same_pseudonyms(path, monkeypatch):
    monkeypatch.setattr(pseudonyms, "PARALLEL_MIN_ROWS", 10)
    monkeypatch.setattr(pseudonyms, "HUGE_PAGE_MIN_BYTES", 0)
    secret = KEYS["langer dan 64"]
    key = Key(compute_key_id(secret), "", secret)
    assert isinstance(pseudonyms._output_buffer(64), mmap.mmap)
    assert pseudonyms.address_pseudonym_column(key, pa.array(VALUES)).to_pylist() == (
        _expected_all(secret, b"adres:v1:"))
    assert pseudonyms.building_pseudonyms(key, VALUES[:50]) == _expected(secret, b"pand:v1:", VALUES[:50])


def test_damaged_input_is_refused(path):
    data = b"abcdef"
    good = array("i", [0, 3, 6]).tobytes()
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"k", b"p", array("i", [0, 3, 9]).tobytes(), data, 4, 0, 2)  # past the data
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"k", b"p", array("i", [0, 4, 3]).tobytes(), data, 4, 0, 2)  # decreasing
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"k", b"p", array("i", [-1, 3, 6]).tobytes(), data, 4, 0, 2)  # negative
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"k", b"p", good, data, 4, 0, 3)  # more values than offsets
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"k", b"p", good, data, 4, 2**62, 1)  # start far out of range
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"k", b"p", good, data, 5, 0, 2)  # no such offset width
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"", b"p", good, data, 4, 0, 2)  # empty key
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"k" * 65, b"p", good, data, 4, 0, 2)  # hashed first by the caller
    with pytest.raises(ValueError):
        bulk.hmac_hex_column(b"k", b"p", good, data, 4, 0, 2, bytearray(127))  # out of the wrong size
    got = bulk.hmac_hex_column(b"k", b"p", good, data, 4, 0, 2)
    assert _split(got) == _expected(b"k", b"p", ["abc", "def"])


def test_sha_instructions_are_used_where_the_cpu_has_them():
    if sys.platform == "linux":
        assert bulk.sha_extensions() == _sha_cpu()
    bulk.use_portable(True)
    try:
        assert not bulk.sha_extensions()
        assert pseudonyms.bulk_hmac_in_use() == "C-extensie, draagbare SHA-256"
    finally:
        bulk.use_portable(False)
