"""Static files at addresses that change with their content (/static/app.css?v=3f2a9c0b1d), so a
phone keeps them for a year and a repeat visit on slow 3G asks the server for none of them.

`url_for("static", filename=...)` adds the digest of the file's content. An answer under the
current digest may be kept for good (`immutable`); without it, or under an old digest (a page
saved before a release), the file is still served but revalidated each time, as before.
"""

import hashlib
import os
from functools import lru_cache

from flask import Flask, current_app, request
from werkzeug.security import safe_join

VERSION_ARG = "v"
YEAR_SECONDS = 365 * 24 * 3600


def init_app(app: Flask) -> None:
    app.url_defaults(_add_version)
    app.after_request(_cache_for_good)


def static_version(filename: str) -> str | None:
    """A short digest of the static file's content, or None when there is no such file."""
    path = safe_join(current_app.static_folder, filename)
    try:
        stat = os.stat(path) if path else None
    except OSError:
        return None
    return _digest(path, stat.st_mtime_ns, stat.st_size) if stat else None


@lru_cache(maxsize=256)
def _digest(path: str, _mtime_ns: int, _size: int) -> str:
    """Read once per version of the file: the modification time and size are in the key."""
    with open(path, "rb") as file:
        return hashlib.sha256(file.read()).hexdigest()[:10]


def _add_version(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and VERSION_ARG not in values:
        version = static_version(values["filename"])
        if version:
            values[VERSION_ARG] = version


def _cache_for_good(response):
    if request.endpoint != "static" or response.status_code not in (200, 304):
        return response
    version = request.args.get(VERSION_ARG)
    if version and version == static_version(request.view_args["filename"]):
        response.cache_control.no_cache = None
        response.cache_control.public = True
        response.cache_control.max_age = YEAR_SECONDS
        response.cache_control.immutable = True
    return response
