"""Reading an upload into memory, with a size limit, without ever spooling it to disk.

Starlette's own form parser writes file parts larger than 1 MB to a temporary file. A raw
extract must never touch the server's disk, so the portal reads the request body itself and
parses multipart/form-data with python-multipart's streaming parser into memory.
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
    if declared_length is not None:
        try:
            if int(declared_length) > limit:
                raise UploadRejected(413, _too_large(limit))
        except ValueError:
            raise UploadRejected(400, "ongeldige Content-Length") from None
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


def parse_multipart(body: bytes, content_type: str | None) -> ParsedForm:
    """Parse a multipart/form-data body held in memory; refuses (415) any other content type."""
    media_type, params = parse_options_header(content_type or "")
    if media_type != b"multipart/form-data" or b"boundary" not in params:
        raise UploadRejected(415, "verkeerd soort verzoek: gebruik het aanleverformulier van de portal")
    parts: list[dict] = []
    header_field = bytearray()
    header_value = bytearray()

    def on_part_begin() -> None:
        if len(parts) >= MAX_PARTS:
            raise UploadRejected(400, "te veel onderdelen in het formulier")
        parts.append({"headers": {}, "data": io.BytesIO()})

    def on_part_data(data: bytes, start: int, end: int) -> None:
        parts[-1]["data"].write(data[start:end])

    def on_header_field(data: bytes, start: int, end: int) -> None:
        header_field.extend(data[start:end])

    def on_header_value(data: bytes, start: int, end: int) -> None:
        header_value.extend(data[start:end])

    def on_header_end() -> None:
        parts[-1]["headers"][bytes(header_field).lower()] = bytes(header_value)
        header_field.clear()
        header_value.clear()

    parser = MultipartParser(
        params[b"boundary"],
        {
            "on_part_begin": on_part_begin,
            "on_part_data": on_part_data,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except UploadRejected:
        raise
    except Exception:  # the parser's own errors name internals; the partner needs one clear message
        raise UploadRejected(400, "het formulier is niet goed aangekomen; probeer het opnieuw") from None

    form = ParsedForm({}, [])
    for part in parts:
        disposition, options = parse_options_header(part["headers"].get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in options:
            continue
        name = options[b"name"].decode("utf-8", "replace")
        data = part["data"].getvalue()
        if b"filename" in options:
            part_type, _ = parse_options_header(part["headers"].get(b"content-type", b""))
            form.files.append(
                UploadedFile(
                    name,
                    options[b"filename"].decode("utf-8", "replace"),
                    part_type.decode("latin-1").lower(),
                    data,
                )
            )
        else:
            if len(data) > MAX_FORM_FIELD_BYTES:
                raise UploadRejected(400, "een formulierveld is te lang")
            form.fields[name] = data.decode("utf-8", "replace")
    return form
