"""Static files under addresses that carry their content's digest: kept by phones for a year,
and a new address as soon as the content changes."""

import hashlib
import re

from flask import url_for

YEAR = 31536000


def test_pages_link_static_files_under_their_content_digest(app, client):
    page = client.get("/login").get_data(as_text=True)
    with open(app.static_folder + "/app.css", "rb") as file:
        digest = hashlib.sha256(file.read()).hexdigest()[:10]
    assert f'<link rel="stylesheet" href="/static/app.css?v={digest}">' in page
    assert re.search(r'<script src="/static/outbox\.js\?v=[0-9a-f]{10}" defer>', page)


def test_a_versioned_file_is_kept_for_a_year(client):
    page = client.get("/login").get_data(as_text=True)
    address = re.search(r'href="(/static/app\.css\?v=\w+)"', page).group(1)
    response = client.get(address)
    response.close()
    assert response.status_code == 200
    cache = response.cache_control
    assert (cache.public, cache.max_age, cache.immutable, cache.no_cache) == (True, YEAR, True, None)


def test_without_the_current_digest_a_file_is_revalidated(client):
    """An old address (a page kept from before a release) still gets the file, but never for long."""
    for address in ("/static/app.css", "/static/app.css?v=0123456789"):
        response = client.get(address)
        response.close()
        assert response.status_code == 200
        assert not response.cache_control.immutable and response.cache_control.max_age != YEAR
        assert response.headers["ETag"]


def test_a_changed_file_gets_a_new_address(app, tmp_path, monkeypatch):
    (tmp_path / "app.css").write_text("body { color: black }")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    with app.test_request_context():
        first = url_for("static", filename="app.css")
        assert url_for("static", filename="app.css") == first
        (tmp_path / "app.css").write_text("body { color: #0b5fa5 }")
        assert url_for("static", filename="app.css") != first
        assert url_for("static", filename="missing.css") == "/static/missing.css"
