"""Gzip for text answers. A volunteer's phone is often on slow 3G, and gunicorn may face it with
no proxy in front to compress: HTML, CSS, JavaScript and JSON shrink to a third or less, and on
400 kbit/s every kilobyte saved is 20 ms.

Only answers that are whole in memory are compressed. A streamed answer (the attendance export,
millions of rows) goes out as it is made and is never touched. Static files are sent straight
from disk otherwise; they are small, so they are read whole here and compressed too.
"""

import gzip

from flask import Flask, Response, request

COMPRESSIBLE_TYPES = frozenset({
    "text/html", "text/css", "text/javascript", "application/javascript", "application/json",
    "application/manifest+json", "image/svg+xml", "text/plain", "text/csv",
})  # fmt: skip
MIN_BYTES = 500  # below this, gzip's own header and the extra work are not worth it
LEVEL = 6  # zlib's default: nearly the size of level 9 in a fraction of the time
NO_BODY = frozenset({204, 206, 304})  # nothing to compress, or a byte range of the plain file


def init_app(app: Flask) -> None:
    app.after_request(compress)


def compress(response: Response) -> Response:
    """Gzip the body when the client takes it, and say the answer depends on whether it does."""
    if not _is_candidate(response):
        return response
    if request.endpoint == "static" and response.is_streamed:
        _read_whole(response)
    if len(response.get_data()) < MIN_BYTES:
        return response
    response.vary.add("Accept-Encoding")
    if request.accept_encodings["gzip"] <= 0:
        return response
    response.set_data(gzip.compress(response.get_data(), compresslevel=LEVEL, mtime=0))
    response.headers["Content-Encoding"] = "gzip"
    etag, is_weak = response.get_etag()
    if etag and not is_weak:
        # The same content in another encoding: a weak tag, which If-None-Match still matches.
        response.set_etag(etag, weak=True)
    return response


def _is_candidate(response: Response) -> bool:
    if response.mimetype not in COMPRESSIBLE_TYPES or response.status_code in NO_BODY:
        return False
    if "Content-Encoding" in response.headers:
        return False
    if response.is_streamed or response.direct_passthrough:
        return request.endpoint == "static"
    return True


def _read_whole(response: Response) -> None:
    """A static file (small) sent from disk: read into the answer like a page's body, and closed."""
    file = response.response
    try:
        response.set_data(b"".join(file))
    finally:
        if hasattr(file, "close"):
            file.close()
    response.direct_passthrough = False
