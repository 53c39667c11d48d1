"""Gzip for phones on slow 3G: text answers shrink, decode to the same content, and nothing
streamed, tiny or already compact is touched."""

import gzip
import json
import re
from datetime import timedelta

import pytest

from app.clock import local_today

GZIP = {"Accept-Encoding": "gzip, deflate, br"}


def same_tokens(html: str) -> str:
    """The page with its CSRF tokens blanked: each request may sign a fresh one."""
    return re.sub(r'((?:content|value)=")[\w.-]{40,}(")', r"\1…\2", html)


def test_a_page_goes_gzipped_and_decodes_to_the_same_html(client, auth, volunteer):
    auth.login(volunteer)
    plain = client.get("/")
    packed = client.get("/", headers=GZIP)

    assert packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert int(packed.headers["Content-Length"]) == len(packed.data)
    html = gzip.decompress(packed.data).decode()
    assert same_tokens(html) == same_tokens(plain.get_data(as_text=True))
    assert "Y Bhim Mlô" in html
    assert len(packed.data) < len(plain.data) / 2


@pytest.mark.parametrize("accepted", [None, "identity", "gzip;q=0", "br"])
def test_no_gzip_for_a_client_that_does_not_take_it(client, accepted):
    response = client.get("/login", headers={"Accept-Encoding": accepted} if accepted else {})
    assert "Content-Encoding" not in response.headers
    assert "<form" in response.get_data(as_text=True)
    # Still marked: a cache must not hand this plain copy to a client that takes gzip, or back.
    assert "Accept-Encoding" in response.headers["Vary"]


def test_json_goes_gzipped(client, auth, volunteer, make_household):
    for number in range(20):
        make_household(volunteer.team.villages[0], f"Nguyễn Văn Hộ {number}")
    auth.login(volunteer)
    response = client.get("/api/v1/offline-pack", headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    pack = json.loads(gzip.decompress(response.data))
    assert len(pack["households"]) == 20


def test_a_static_file_goes_gzipped_and_still_answers_304(app, client):
    css = (app.static_folder + "/app.css", "/static/app.css")
    with open(css[0], "rb") as file:
        content = file.read()
    response = client.get(css[1], headers=GZIP)
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == content
    etag = response.headers["ETag"]
    assert etag.startswith('W/"')  # the same file in another encoding

    again = client.get(css[1], headers={**GZIP, "If-None-Match": etag})
    again.close()  # a 304 from disk still holds the file until the server closes it
    assert again.status_code == 304
    assert again.data == b""


def test_images_and_tiny_answers_stay_as_they_are(client):
    png = client.get("/static/icons/icon-512.png", headers=GZIP)
    assert png.status_code == 200 and "Content-Encoding" not in png.headers
    png.close()
    tiny = client.get("/api/v1/offline-pack", headers={**GZIP, "Accept": "application/json"})
    assert len(tiny.data) < 500 and "Content-Encoding" not in tiny.headers


def test_a_streamed_export_is_never_gzipped(client, auth, make_user, village, volunteer, make_household, make_session):
    households = [make_household(village, f"Trần Thị Hộ Gia Đình Số {number}") for number in range(30)]
    make_session(village, volunteer, households, held_on=local_today() - timedelta(days=1))
    auth.login(make_user("province"))
    response = client.get(f"/exports/attendance.csv?from={local_today() - timedelta(days=5)}", headers=GZIP)
    assert response.status_code == 200
    assert response.is_streamed
    assert "Content-Encoding" not in response.headers
    body = response.get_data()
    assert len(body) > 500 and not body.startswith(b"\x1f\x8b")
    assert "Trần Thị Hộ Gia Đình Số 29" in body.decode("utf-8-sig")
