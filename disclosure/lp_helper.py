"""The second process of `disclosure.model.LPHelper`: a copy of the attacker's model that solves on request.

Started as `python -m disclosure.lp_helper` by the process that protects or audits a large table. It reads
length-prefixed pickled messages on stdin and answers on its original stdout: `init` (the model and its
bounds), `bounds`, `prefer` and `release` (the same changes as the first process's model, in the same
order), `solve` (one extreme, answered with its value and point) and `stop`. Nothing is logged or printed:
the model holds counts close to the true ones, and it lives only in memory. The process ends when its stdin
closes, so a killed run leaves nothing behind.
"""

from __future__ import annotations

import os
import pickle
import struct
import sys
from typing import BinaryIO

HEADER = struct.Struct("<Q")


def write_message(stream: BinaryIO, message: object) -> None:
    """One message: its length, then its pickle."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(HEADER.pack(len(data)))
    stream.write(data)
    stream.flush()


def read_message(stream: BinaryIO) -> object | None:
    """The next message, or None at the end of the stream."""
    header = _read_exactly(stream, HEADER.size)
    if header is None:
        return None
    data = _read_exactly(stream, HEADER.unpack(header)[0])
    return None if data is None else pickle.loads(data)  # noqa: S301 - from our own parent process only


def _read_exactly(stream: BinaryIO, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def main() -> None:
    # The answers keep the original stdout; whatever else writes to fd 1 (a solver banner) goes nowhere.
    answers = os.fdopen(os.dup(1), "wb")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    requests = sys.stdin.buffer

    from disclosure.model import AttackerLP  # after the redirect: importing may create a solver

    message = read_message(requests)
    if not isinstance(message, tuple) or message[0] != "init":
        return
    _, model, lower, upper, use_row = message
    attacker = AttackerLP(model, lower, upper, use_row, pool_size=50, helper=False)
    while (message := read_message(requests)) is not None:
        kind = message[0]
        if kind == "bounds":
            attacker.set_bounds(*message[1:])
        elif kind == "prefer":
            attacker.prefer_within(*message[1:])
        elif kind == "release":
            attacker.release(*message[1:])
        elif kind == "solve":
            tag, cell, maximise = message[1:]
            try:
                value = attacker.extreme(cell, maximise)
            except Exception:  # noqa: BLE001 - the first process solves it again and reports
                write_message(answers, ("error", tag))
                continue
            point = None if value in (float("inf"), float("-inf")) else attacker.last_solution
            write_message(answers, ("result", tag, value, point))
        elif kind == "stop":
            break


if __name__ == "__main__":
    main()
