"""Response headers that keep pages from being framed, sniffed, cached or scripted from outside,
and the two input rules every request meets before a view reads it (no NUL characters, no
JSON nested past any real body).

Every script is a file under /static (no inline script, no eval), every style is the one
stylesheet, and nothing loads from another host: the Content-Security-Policy says exactly that.
"""

from flask import Flask, abort, request, session
from flask.json.provider import DefaultJSONProvider

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "manifest-src 'self'",
        "worker-src 'self'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
# Static files may be cached; the service worker script sets its own no-cache (revalidate).
CACHEABLE_ENDPOINTS = frozenset({"static", "offline.service_worker"})
# Open data is the same for everyone and holds nothing personal: shared caches may keep it for
# a minute, which spares the database a crowd of readers and is fresh enough for live figures.
PUBLIC_ENDPOINTS = frozenset({"opendata.page", "opendata.communes_csv", "opendata.communes_json"})
PUBLIC_MAX_AGE = 60


MAX_JSON_DEPTH = 20  # a session is three levels deep; nothing the app takes needs more


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a body nested too deeply is malformed like any other (ValueError, which
    get_json(silent=True) answers with None) instead of a RecursionError in the parser or in
    the code that reads it."""

    def loads(self, s, **kwargs):
        try:
            value = super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if _depth(value) > MAX_JSON_DEPTH:
            raise ValueError("JSON nested too deeply")
        return value


def _depth(value) -> int:
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            pending.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def carries_nul(value) -> bool:
    """Whether a NUL character hides anywhere in a value: text, or lists and objects of JSON."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return True
        if isinstance(item, dict):
            pending += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            pending += item
    return False


def _may_be_shared(app: Flask, response) -> bool:
    """An answer that sets a cookie (now, or when the session is saved after this) belongs to
    one visitor, and an error is not the data: neither is ever shared."""
    return (
        response.status_code == 200
        and "Set-Cookie" not in response.headers
        and not session.modified
        and not app.session_interface.should_set_cookie(app, session)
    )


def init_app(app: Flask) -> None:
    app.json = JSONProvider(app)

    @app.before_request
    def refuse_nul_characters():
        """Nobody types a NUL character, and PostgreSQL can neither store one in text nor look one
        up: a request that carries one anywhere (address, query, form, file name, JSON) is
        malformed, and answers 400 before any view reads it."""
        fields = [*request.args.items(multi=True), *request.form.items(multi=True)]
        fields += [(name, file.filename) for name, file in request.files.items(multi=True)]
        if (
            "\x00" in request.path
            or any(carries_nul(name) or carries_nul(value) for name, value in fields)
            or (request.is_json and carries_nul(request.get_json(silent=True)))
        ):
            abort(400)

    @app.after_request
    def secure_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        # Pages and API answers carry household names and phone numbers: never keep them in
        # a shared or back-button cache. Static files may be cached.
        if request.endpoint in PUBLIC_ENDPOINTS and _may_be_shared(app, response):
            response.headers["Cache-Control"] = f"public, max-age={PUBLIC_MAX_AGE}"
        elif request.endpoint not in CACHEABLE_ENDPOINTS:
            response.headers["Cache-Control"] = "no-store"
        return response
