"""A volunteer logs sessions with no signal; each reaches the server exactly once when the
phone is back online. The browser context's offline mode stands for the missing signal."""

import re

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from playwright.sync_api import expect

from app.clock import utcnow
from app.extensions import db
from app.models import Attendance, Household, SignIn, TrainingSession
from app.offline import routes as offline_routes
from tests.browser.conftest import PHONE
from tests.conftest import PASSWORD

VILLAGE = "Buôn Ako Dhông"
VNEID = "Định danh điện tử VNeID"
SESSIONS_URL = "/api/v1/sessions"
# Sending waits for the network event, then one request per session: allow a busy machine.
SENT = 20_000


@pytest.fixture
def phone(browser, live_server):
    """A phone with service workers on. Fails the test on any script error or anything the
    Content-Security-Policy refuses, on any page."""
    context = browser.new_context(viewport=PHONE, base_url=live_server, locale="vi-VN", service_workers="allow")
    page = context.new_page()
    problems = []
    page.on("console", lambda message: "Content Security Policy" in message.text and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.answers = []  # (status) of every POST /api/v1/sessions, in order
    page.on("response", lambda r: r.url.endswith(SESSIONS_URL) and page.answers.append(r.status))
    yield page
    context.close()
    assert problems == []


def vi(app, message: str, **values) -> str:
    """The words the page shows in Vietnamese: the catalogue's, or the English msgid until the
    catalogue has them. Placeholders for the scripts ({n}, {time}) are filled as they fill them."""
    with app.test_request_context(), force_locale("vi"):
        return _(message, **values)


def fresh(statement):
    db.session.rollback()
    return db.session.scalars(statement).all()


def sign_in(page, user) -> None:
    page.goto("/login")
    page.get_by_label("Số điện thoại").fill(user.phone)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url(re.compile(r".*/(sessions/new)?$"))


def wait_until_kept(page) -> None:
    """The service worker is active (it answers the next navigation) and keeps the form and
    the registry. This page itself may be uncontrolled: it was on its way while the worker
    was being installed."""
    page.evaluate(
        """async () => {
            const deadline = Date.now() + 30000;
            while (Date.now() < deadline) {
                const kept = await caches.open("kept");
                const registration = await navigator.serviceWorker.getRegistration();
                if (registration && registration.active && registration.active.state === "activated"
                    && await kept.match("/sessions/new") && await kept.match("/api/v1/offline-pack")) return;
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
            const registration = await navigator.serviceWorker.getRegistration();
            throw new Error("the service worker kept too little: " + JSON.stringify({
                controller: !!navigator.serviceWorker.controller, caches: await caches.keys(),
                kept: (await (await caches.open("kept")).keys()).map((request) => request.url),
                worker: registration && [registration.installing, registration.waiting, registration.active]
                    .map((worker) => worker && worker.state),
            }));
        }"""
    )


def go_offline(page) -> None:
    page.context.set_offline(True)
    page.goto("/sessions/new")
    # The service worker's kept copy, not the server's page.
    expect(page.locator("#session-form")).to_have_attribute("data-copy", "kept")


def tick_topic(page, name: str) -> None:
    page.locator("#topics").get_by_role("checkbox", name=name).check()


def search_and_add(page, typed: str, head_name: str) -> None:
    box = page.locator("#q")
    box.fill("")
    box.press_sequentially(typed)
    page.locator("#results").get_by_role("button", name=head_name).click()
    expect(page.locator("#picked label", has_text=head_name).locator("input")).to_be_checked()


def save_on_phone(app, page) -> None:
    page.get_by_role("button", name="Lưu buổi hướng dẫn").click()
    expect(page.locator("#form-status")).to_have_text(
        vi(app, "Saved on this phone. It will be sent as soon as there is a connection.")
    )
    expect(page.locator("#picked li")).to_have_count(0)  # the form is ready for the next session


def waiting(app, n: int) -> str:
    if n == 1:
        return vi(app, "1 session waiting to be sent")
    return vi(app, "%(n)s sessions waiting to be sent", n="{n}").replace("{n}", str(n))


def outbox_rows(page):
    return page.locator("#outbox-items li:not(.sent)")


def log_three_sessions(app, page) -> None:
    tick_topic(page, VNEID)
    search_and_add(page, "hhen", "H'Hen Niê")  # searched on the phone: no network
    save_on_phone(app, page)
    tick_topic(page, VNEID)
    search_and_add(page, "nguyen van", "Nguyễn Văn An")
    save_on_phone(app, page)
    tick_topic(page, VNEID)
    page.get_by_label("Chủ hộ", exact=True).fill("Hoàng Thị Mai")
    page.get_by_label("Số nhà hoặc địa chỉ").fill("Thôn 5")
    save_on_phone(app, page)


def sessions() -> list[TrainingSession]:
    return fresh(sa.select(TrainingSession).order_by(TrainingSession.id))


def attendee_names(session: TrainingSession) -> set[str]:
    rows = fresh(sa.select(Household.head_name).join(Attendance).where(Attendance.session_id == session.id))
    return set(rows)


def test_sessions_logged_offline_reach_the_server_exactly_once(app, phone, volunteer, households):
    page = phone
    sign_in(page, volunteer)
    wait_until_kept(page)
    go_offline(page)

    log_three_sessions(app, page)
    expect(page.locator("#outbox-count")).to_have_text(waiting(app, 3))
    expect(outbox_rows(page)).to_have_count(3)
    expect(page.locator("#outbox-offline")).to_be_visible()
    expect(outbox_rows(page).first).to_contain_text(vi(app, "Waiting to be sent"))
    assert sessions() == []  # nothing claims "sent": nothing was

    page.reload()  # still offline: the kept form, and the outbox as it was
    expect(page.locator("#session-form")).to_have_attribute("data-copy", "kept")
    expect(page.locator("#outbox-count")).to_have_text(waiting(app, 3))
    expect(outbox_rows(page)).to_have_count(3)
    queued = page.evaluate("Outbox.all()")
    assert len({item["uuid"] for item in queued}) == 3
    assert sessions() == []

    page.context.set_offline(False)  # the signal is back: the outbox goes by itself
    expect(page.locator("#outbox-items li.sent")).to_have_count(3, timeout=SENT)
    expect(outbox_rows(page)).to_have_count(0)
    expect(page.locator("#outbox-count")).to_have_text("")
    last_sync = vi(app, "Last successful sync: %(time)s", time="{time}").split("{time}")[0]
    expect(page.locator("#outbox-last")).to_contain_text(last_sync)
    saved = sessions()
    assert [s.uuid for s in saved] == [item["uuid"] for item in queued]  # in the order they were logged
    assert [attendee_names(s) for s in saved] == [{"H'Hen Niê"}, {"Nguyễn Văn An"}, {"Hoàng Thị Mai"}]
    assert len(fresh(sa.select(Household))) == 4
    assert page.answers == [201, 201, 201]

    # The whole outbox once more (a retry whose answers were lost): nothing new on the server.
    page.evaluate("items => Promise.all(items.map(item => Outbox.save(item)))", queued)
    expect(page.locator("#outbox-count")).to_have_text(waiting(app, 3))
    page.get_by_role("button", name=vi(app, "Send now")).click()
    expect(outbox_rows(page)).to_have_count(0, timeout=SENT)
    assert page.answers == [201, 201, 201, 200, 200, 200]
    assert [s.uuid for s in sessions()] == [item["uuid"] for item in queued]
    assert len(fresh(sa.select(Household))) == 4
    [mai] = fresh(sa.select(Household).where(Household.head_name == "Hoàng Thị Mai"))
    assert mai.uuid == queued[2]["body"]["households"][0]["uuid"]


def test_a_refused_session_stays_with_the_servers_message_while_the_others_are_sent(app, phone, volunteer, households):
    page = phone
    sign_in(page, volunteer)
    wait_until_kept(page)
    go_offline(page)
    log_three_sessions(app, page)

    # Meanwhile an officer removes Nguyễn Văn An from the registry.
    removed = db.session.get(Household, households["Nguyễn Văn An"])
    removed.deleted_at = utcnow()
    db.session.commit()

    page.context.set_offline(False)
    refused = outbox_rows(page)
    expect(page.locator("#outbox-items li.sent")).to_have_count(2, timeout=SENT)
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text(vi(app, "Not accepted by the server"))
    expect(refused).to_contain_text(vi(app, "%(name)s has been removed from the registry.", name="Nguyễn Văn An"))
    expect(page.locator("#outbox-count")).to_have_text(waiting(app, 1))  # still on the phone, not sent
    assert [attendee_names(s) for s in sessions()] == [{"H'Hen Niê"}, {"Hoàng Thị Mai"}]
    assert page.answers == [201, 422, 201]

    # Fix: reopen it, take the removed household off, pick another, and it goes.
    refused.get_by_role("link", name=vi(app, "Fix")).click()
    expect(page.locator("#picked")).to_contain_text("Nguyễn Văn An")
    page.locator("#picked label", has_text="Nguyễn Văn An").locator("input").click()  # unticking takes it off
    expect(page.locator("#picked")).not_to_contain_text("Nguyễn Văn An")
    search_and_add(page, "binh", "Nguyễn Thị Bình")
    page.get_by_role("button", name="Lưu buổi hướng dẫn").click()
    expect(page.locator("#outbox-items li.sent")).to_have_count(3, timeout=SENT)
    expect(outbox_rows(page)).to_have_count(0)
    assert [attendee_names(s) for s in sessions()] == [{"H'Hen Niê"}, {"Hoàng Thị Mai"}, {"Nguyễn Thị Bình"}]


def test_an_ended_sign_in_and_a_new_release_keep_the_outbox(app, phone, volunteer, households, monkeypatch):
    page = phone
    sign_in(page, volunteer)
    wait_until_kept(page)
    go_offline(page)
    tick_topic(page, VNEID)
    search_and_add(page, "hhen", "H'Hen Niê")
    save_on_phone(app, page)

    # Signing out with an unsent session asks first; saying no keeps everything.
    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog") as asked:
        page.get_by_role("button", name="Đăng xuất").click()
    assert asked.value.message == vi(app, "1 session has not been sent yet. Sign out anyway? It stays on this phone.")
    expect(page.locator("#outbox-count")).to_have_text(waiting(app, 1))
    assert "/sessions/new" in page.url

    # Meanwhile the sign-in ends on the server (signed out on another device, say).
    db.session.execute(sa.update(SignIn).values(ended_at=utcnow()))
    db.session.commit()
    page.context.set_offline(False)
    again = page.get_by_role("link", name=vi(app, "Sign in again to send"))
    expect(again).to_be_visible(timeout=SENT)
    expect(page.locator("#outbox-count")).to_have_text(waiting(app, 1))
    assert sessions() == []

    # A new release meanwhile: a new service worker replaces the shell, and the outbox stays.
    monkeypatch.setattr(offline_routes, "_version", lambda *_args: "new-release")
    page.evaluate(
        """async () => {
            await (await navigator.serviceWorker.getRegistration()).update();
            while (!(await caches.keys()).every((name) => name === "kept" || name === "shell-new-release")) {
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        }"""
    )
    assert sorted(page.evaluate("caches.keys()")) == ["kept", "shell-new-release"]
    assert len(page.evaluate("Outbox.all()")) == 1

    again.click()
    page.get_by_label("Số điện thoại").fill(volunteer.phone)
    page.get_by_label("Mật khẩu").fill(PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_url("**/sessions/new")
    expect(page.locator("#outbox-items li.sent")).to_have_count(1, timeout=SENT)
    expect(outbox_rows(page)).to_have_count(0)
    assert [attendee_names(s) for s in sessions()] == [{"H'Hen Niê"}]
    assert page.answers == [401, 201]


def test_a_stale_csrf_token_is_renewed_and_the_session_still_goes_once(app, phone, volunteer, households):
    """A kept page carries the token it was kept with; the outbox asks the server for a new one."""
    app.config["WTF_CSRF_ENABLED"] = True
    page = phone
    sign_in(page, volunteer)
    wait_until_kept(page)
    go_offline(page)
    tick_topic(page, VNEID)
    search_and_add(page, "hhen", "H'Hen Niê")
    save_on_phone(app, page)
    page.evaluate("document.querySelector('meta[name=csrf-token]').content = 'from-an-older-sign-in'")

    page.context.set_offline(False)
    expect(page.locator("#outbox-items li.sent")).to_have_count(1, timeout=SENT)
    assert page.answers == [400, 201]
    assert [attendee_names(s) for s in sessions()] == [{"H'Hen Niê"}]


def test_signing_out_keeps_the_outbox_for_the_next_sign_in_and_forgets_the_kept_pages(
    app, phone, volunteer, households
):
    page = phone
    sign_in(page, volunteer)
    wait_until_kept(page)
    go_offline(page)
    tick_topic(page, VNEID)
    search_and_add(page, "hhen", "H'Hen Niê")
    save_on_phone(app, page)
    db.session.execute(sa.update(SignIn).values(ended_at=utcnow()))  # so that it cannot go yet
    db.session.commit()
    page.context.set_offline(False)
    expect(page.get_by_role("link", name=vi(app, "Sign in again to send"))).to_be_visible(timeout=SENT)

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/login")
    expect(page.locator("#outbox-count")).to_have_text(waiting(app, 1))  # still on the phone
    page.evaluate(  # the household names kept for offline use are gone with the sign-in
        """async () => {
            for (let tries = 0; await caches.match("/sessions/new"); tries++) {
                if (tries > 100) throw new Error("the kept pages outlived the sign-in");
                await new Promise((resolve) => setTimeout(resolve, 100));
            }
        }"""
    )

    sign_in(page, volunteer)
    expect(page.locator("#outbox-items li.sent")).to_have_count(1, timeout=SENT)
    assert [attendee_names(s) for s in sessions()] == [{"H'Hen Niê"}]
