"""The installable app: service worker, manifest, and the offline pack a phone keeps."""

import json
import re
import struct

import pytest

from app.clock import utcnow
from app.extensions import db
from app.models import Team
from tests.conftest import COMMUNE_A, COMMUNE_B


def test_the_service_worker_is_served_from_the_root_and_always_revalidated(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "worker-src 'self'" in response.headers["Content-Security-Policy"]
    script = response.get_data(as_text=True)
    assert "__" not in script  # every placeholder filled in
    assert re.search(r'const VERSION = "[0-9a-f]{12}";', script)
    shell = json.loads(re.search(r"const SHELL_FILES = (\[.*?\]);", script).group(1))
    paths = {url.split("?v=")[0] for url in shell}  # each address carries its content's digest
    assert {"/static/app.css", "/static/outbox.js", "/static/offline.js", "/static/logbook.js"} <= paths
    pages = json.loads(re.search(r"const PAGES = (\[.*?\]);", script).group(1))
    assert pages == ["/", "/sessions/new", "/api/v1/offline-pack"]


def test_the_shell_cache_is_named_after_the_files_it_holds(app, client, tmp_path, monkeypatch):
    """A new release (a static file changed) gets a new cache name; the same files the same name."""
    (tmp_path / "app.js").write_text("one")
    monkeypatch.setattr(app, "static_folder", str(tmp_path))

    def version():
        return re.search(r'const VERSION = "(\w+)"', client.get("/sw.js").get_data(as_text=True)).group(1)

    first = version()
    assert version() == first
    (tmp_path / "app.js").write_text("three")
    assert version() != first


def test_the_outbox_is_never_in_the_caches_an_update_drops():
    """Unsent sessions live in IndexedDB; the worker only ever deletes its own shell caches."""
    from app.offline.routes import WORKER

    script = WORKER.read_text(encoding="utf-8")
    assert "indexedDB" not in script
    deletes = re.findall(r"caches\.delete\(([^)]*)\)", script)
    assert deletes == ["n", "KEPT"]  # old shell caches on activate; kept pages at sign-out
    assert 'n.startsWith("shell-") && n !== SHELL' in script


def test_the_manifest_is_installable_with_a_vietnamese_name(client):
    response = client.get("/static/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = json.loads(response.get_data(as_text=True))
    response.close()
    assert (manifest["name"], manifest["short_name"], manifest["lang"]) == ("Kỹ năng số cộng đồng", "Kỹ năng số", "vi")
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/", "/", "standalone")
    for icon in manifest["icons"]:
        png = client.get(icon["src"])
        assert png.mimetype == "image/png"
        width, height = struct.unpack(">II", png.get_data()[16:24])
        png.close()
        assert f"{width}x{height}" == icon["sizes"]
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}


def test_every_page_links_the_manifest(client):
    page = client.get("/login").get_data(as_text=True)
    assert re.search(r'<link rel="manifest" href="/static/manifest\.webmanifest\?v=\w+">', page)


@pytest.fixture
def registry(make_village, make_household):
    """Two villages of commune A (one served by the team) and one of commune B."""
    team_village = make_village("Buôn Ako Dhông", COMMUNE_A)
    other_village = make_village("Thôn 3", COMMUNE_A)
    village_b = make_village("Thôn Bêta", COMMUNE_B)
    removed = make_household(team_village, "Y Đã Xoá")
    removed.deleted_at = utcnow()
    db.session.commit()
    return {
        "team_village": team_village,
        "other_village": other_village,
        "village_b": village_b,
        "hhen": make_household(team_village, "H'Hen Niê", address="Nhà 12", phone="0912345678"),
        "other": make_household(other_village, "Nguyễn Văn An"),
        "beta": make_household(village_b, "Lò Thị Bêta"),
    }


def test_a_volunteer_keeps_the_households_of_the_teams_villages_only(client, auth, make_user, registry):
    volunteer = make_user("volunteer", COMMUNE_A)
    volunteer.team = Team(
        commune_id=registry["team_village"].commune_id, name="Tổ CNS", villages=[registry["team_village"]]
    )
    db.session.commit()
    auth.login(volunteer)

    response = client.get("/api/v1/offline-pack")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"  # only the service worker keeps it
    pack = response.get_json()
    assert [v["name"] for v in pack["villages"]] == ["Buôn Ako Dhông", "Thôn 3"]  # the commune's villages
    hhen = registry["hhen"]
    assert pack["households"] == [
        {"id": hhen.id, "uuid": hhen.uuid, "village_id": registry["team_village"].id,
         "head_name": "H'Hen Niê", "folded": "hhen nie", "address": "Nhà 12"},
    ]  # fmt: skip
    assert "0912345678" not in response.get_data(as_text=True)
    assert [t["code"] for t in pack["topics"]][:2] == ["vneid", "public_services"]
    assert pack["topics"][0]["name"].startswith("Định danh điện tử VNeID")
    assert pack["csrf_token"]


def test_an_officer_without_a_team_keeps_the_whole_commune(client, auth, make_user, registry):
    auth.login(make_user("officer", COMMUNE_A))
    pack = client.get("/api/v1/offline-pack").get_json()
    assert sorted(h["head_name"] for h in pack["households"]) == ["H'Hen Niê", "Nguyễn Văn An"]
    assert "Bêta" not in json.dumps(pack, ensure_ascii=False)


def test_the_offline_pack_needs_a_sign_in_and_the_right_to_log_sessions(client, auth, make_user, registry):
    response = client.get("/api/v1/offline-pack")
    assert response.status_code == 401
    assert response.get_json()["errors"]["request"]
    for role in ("province", "admin"):
        auth.login(make_user(role))
        assert client.get("/api/v1/offline-pack").status_code == 403
        auth.logout()


def test_pages_carry_the_outbox_for_those_who_log_sessions(client, auth, make_user):
    assert 'id="outbox"' in client.get("/login").get_data(as_text=True)  # unsent sessions show before sign-in too
    auth.login(make_user("volunteer"))
    page = client.get("/sessions/new").get_data(as_text=True)
    assert 'id="outbox"' in page and 'data-copy="live"' in page and 'id="sign-out"' in page
    assert re.search(r'<script src="/static/offline\.js\?v=\w+" defer></script>', page)
    auth.logout()
    auth.login(make_user("province"))
    assert 'id="outbox"' not in client.get("/").get_data(as_text=True)


def test_the_edit_form_is_not_kept_for_offline_use(client, auth, make_user, make_village, make_household, make_session):
    volunteer = make_user("volunteer")
    village = make_village()
    session = make_session(village, volunteer, [make_household(village)])
    auth.login(volunteer)
    page = client.get(f"/sessions/{session.id}/edit").get_data(as_text=True)
    assert "data-copy" not in page and 'id="queue-button"' not in page
