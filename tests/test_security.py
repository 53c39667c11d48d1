import pytest

from app.security import CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("path", ["/login", "/", "/sessions/new", "/api/v1/sessions", "/no-such-page"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_static_files_may_be_cached(client):
    response = client.get("/static/app.css")
    assert response.headers.get("Cache-Control") != "no-store"
    response.close()


def test_policy_allows_nothing_from_other_hosts():
    for directive in CONTENT_SECURITY_POLICY.split("; "):
        sources = directive.split()[1:]
        assert all(source in ("'self'", "'none'", "data:") for source in sources), directive


def test_session_cookie_is_httponly_and_lax(client, auth, make_user):
    response = auth.login(make_user("volunteer"))
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_no_template_has_inline_scripts_or_styles():
    from pathlib import Path

    for template in (Path(__file__).parent.parent / "app").rglob("*.html"):
        text = template.read_text(encoding="utf-8")
        assert " style=" not in text, template
        for chunk in text.split("<script")[1:]:
            assert chunk.lstrip().startswith("src="), template
