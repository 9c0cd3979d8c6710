"""Reading an upload into memory, with a size limit, without ever spooling it to disk.

Starlette's own form parser writes file parts larger than 1 MB to a temporary file. A raw
extract must never touch the server's disk, so the portal reads the request body itself and
parses multipart/form-data with python-multipart's streaming parser into memory, chunk by chunk
as the body arrives (`read_multipart`): the body is never held whole next to its parts.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, parse_options_header

MAX_FORM_FIELD_BYTES = 4096
MAX_PARTS = 5000  # many 301 messages (one client each) may come in one upload


class UploadRejected(Exception):
    """An upload refused before looking at its content; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class UploadedFile:
    field_name: str
    filename: str
    content_type: str
    data: bytes = field(repr=False)


@dataclass
class ParsedForm:
    fields: dict[str, str]
    files: list[UploadedFile]


async def read_body(chunks: AsyncIterator[bytes], declared_length: str | None, limit: int) -> bytes:
    """The whole request body in memory; refuses (413) as soon as it exceeds `limit` bytes."""
    _check_declared(declared_length, limit)
    buffer = bytearray()
    async for chunk in chunks:
        buffer.extend(chunk)
        if len(buffer) > limit:
            raise UploadRejected(413, _too_large(limit))
    return bytes(buffer)


def _too_large(limit: int) -> str:
    return (
        f"het bestand is te groot (meer dan {limit // (1024 * 1024)} MB); "
        "laat overbodige kolommen weg of neem contact op met de gemeente"
    )


async def read_multipart(
    chunks: AsyncIterator[bytes], declared_length: str | None, content_type: str | None, limit: int
) -> ParsedForm:
    """Parse a multipart/form-data body while it arrives, chunk by chunk, within `limit` bytes.

    Only the parts' contents are kept (once): the body itself is never held as a whole.
    """
    parser = _FormParser(content_type)
    _check_declared(declared_length, limit)
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise UploadRejected(413, _too_large(limit))
        parser.feed(chunk)
    return parser.finish()


def _check_declared(declared_length: str | None, limit: int) -> None:
    if declared_length is None:
        return
    try:
        declared = int(declared_length)
    except ValueError:
        raise UploadRejected(400, "ongeldige Content-Length") from None
    if declared > limit:
        raise UploadRejected(413, _too_large(limit))


class _FormParser:
    """python-multipart's streaming parser, collecting fields and files in memory."""

    def __init__(self, content_type: str | None) -> None:
        media_type, params = parse_options_header(content_type or "")
        if media_type != b"multipart/form-data" or b"boundary" not in params:
            raise UploadRejected(415, "verkeerd soort verzoek: gebruik het aanleverformulier van de portal")
        self._parts: list[dict] = []
        self._header_field = bytearray()
        self._header_value = bytearray()
        callbacks = {
            "on_part_begin": self._part_begin,
            "on_part_data": lambda data, start, end: self._parts[-1]["data"].write(data[start:end]),
            "on_header_field": lambda data, start, end: self._header_field.extend(data[start:end]),
            "on_header_value": lambda data, start, end: self._header_value.extend(data[start:end]),
            "on_header_end": self._header_end,
        }
        self._parser = MultipartParser(params[b"boundary"], callbacks)

    def _part_begin(self) -> None:
        if len(self._parts) >= MAX_PARTS:
            raise UploadRejected(400, "te veel onderdelen in het formulier")
        self._parts.append({"headers": {}, "data": io.BytesIO()})

    def _header_end(self) -> None:
        self._parts[-1]["headers"][bytes(self._header_field).lower()] = bytes(self._header_value)
        self._header_field.clear()
        self._header_value.clear()

    def feed(self, data: bytes) -> None:
        try:
            self._parser.write(data)
        except UploadRejected:
            raise
        except Exception:  # the parser's own errors name internals; the partner needs one clear message
            raise UploadRejected(400, "het formulier is niet goed aangekomen; probeer het opnieuw") from None

    def finish(self) -> ParsedForm:
        try:
            self._parser.finalize()
        except Exception:
            raise UploadRejected(400, "het formulier is niet goed aangekomen; probeer het opnieuw") from None
        form = ParsedForm({}, [])
        while self._parts:
            _add_part(form, self._parts.pop(0))
        return form


def _add_part(form: ParsedForm, part: dict) -> None:
    disposition, options = parse_options_header(part["headers"].get(b"content-disposition", b""))
    if disposition != b"form-data" or b"name" not in options:
        return
    name = options[b"name"].decode("utf-8", "replace")
    data = part["data"].getvalue()  # the BytesIO's own buffer, not a copy
    if b"filename" in options:
        part_type, _ = parse_options_header(part["headers"].get(b"content-type", b""))
        filename = options[b"filename"].decode("utf-8", "replace")
        form.files.append(UploadedFile(name, filename, part_type.decode("latin-1").lower(), data))
    elif len(data) > MAX_FORM_FIELD_BYTES:
        raise UploadRejected(400, "een formulierveld is te lang")
    else:
        form.fields[name] = data.decode("utf-8", "replace")
