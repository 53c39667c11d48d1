"""The service worker, served from the site's root so it may answer for every page.

Its cache names carry a digest of the static files and of the worker itself: a new release
gets a new shell cache and the old one is dropped. Unsent sessions are never in these caches
(they wait in the phone's IndexedDB), so updating the worker cannot lose them.
"""

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, current_app, url_for

bp = Blueprint("offline", __name__)

WORKER = Path(__file__).with_name("sw.js")


@bp.get("/sw.js")
def service_worker():
    files = _static_files(Path(current_app.static_folder))
    shell = [url_for("static", filename=name) for name, _stamp in files]
    pages = [url_for("home.index"), url_for("logbook.create"), url_for("api.offline_pack")]
    script = (
        WORKER.read_text(encoding="utf-8")
        .replace('"__VERSION__"', json.dumps(_version(files, WORKER.stat().st_mtime_ns)))
        .replace('["__SHELL__"]', json.dumps(shell))
        .replace('["__PAGES__"]', json.dumps(pages))
    )
    response = current_app.response_class(script, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    # The browser asks again on every visit; a stale worker would keep a stale shell.
    response.headers["Cache-Control"] = "no-cache"
    return response


def _static_files(folder: Path) -> tuple[tuple[str, tuple[int, int]], ...]:
    """Every static file as (name, (size, mtime)); the stamp only decides when to hash again."""
    return tuple(
        (path.relative_to(folder).as_posix(), (path.stat().st_size, path.stat().st_mtime_ns))
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    )


@cache
def _version(files: tuple, _worker_stamp: int) -> str:
    """A digest of the static files' and the worker's contents: the same release gives the
    same cache name on every server."""
    folder = Path(current_app.static_folder)
    digest = hashlib.sha256(WORKER.read_bytes())
    for name, _stamp in files:
        digest.update(name.encode())
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]
