"""Stored files served with byte ranges: Safari (the iPhone's browser) plays a video only from a server that answers
`Range: bytes=…` with 206 Partial Content, and every browser seeks in a video that way.

One range per request (what browsers send for media); anything else gets the whole file, as HTTP allows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

CHUNK_BYTES = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def requested_range(header: str, size: int) -> tuple[int, int] | None | Literal[False]:
    """The (first, last) byte asked for, None to send the whole file, or False when the range cannot be satisfied."""
    match = _RANGE.match(header.strip())
    if not match or match.groups() == ("", ""):
        return None  # several ranges or a malformed header: the whole file
    first, last = match.groups()
    if first == "":  # the last N bytes
        length = int(last)
        return (max(size - length, 0), size - 1) if length and size else False
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


def _slice(handle: Any, start: int, end: int) -> Iterator[bytes]:
    try:
        handle.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def ranged_file_response(request: HttpRequest, field: Any, content_type: str) -> HttpResponseBase:
    """The stored file (a FieldFile), whole or the one range the request asks for."""
    size = field.size
    wanted = requested_range(request.headers.get("Range", ""), size) if "If-Range" not in request.headers else None
    response: HttpResponseBase
    if wanted is False:
        response = HttpResponse(status=416, content_type=content_type)
        response["Content-Range"] = f"bytes */{size}"
    elif wanted is None:
        response = FileResponse(field.open("rb"), content_type=content_type)
    else:
        start, end = wanted
        response = StreamingHttpResponse(_slice(field.open("rb"), start, end), status=206, content_type=content_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return response
