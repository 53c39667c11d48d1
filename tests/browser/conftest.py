"""Playwright with Debian's chromium at a 360×740 phone viewport, against a live server."""

import threading

import pytest
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from tests.conftest import CHROMIUM

PHONE = {"width": 360, "height": 740}
# Without these, chromium tries to reach Google's hosts at start and on every page.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport=PHONE, base_url=live_server, locale="vi-VN")
    page = context.new_page()
    yield page
    context.close()


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > window.innerWidth")


def small_tap_targets(page) -> list[str]:
    """Buttons, fields and button-like links shorter than 44 px."""
    return page.evaluate(
        """() => [...document.querySelectorAll('button, input:not([type=hidden]), select, textarea, a.button, a.step')]
              .filter(el => el.offsetParent !== null && el.getBoundingClientRect().height < 44)
              .map(el => el.outerHTML.slice(0, 80))"""
    )


@pytest.fixture
def households(village, make_household):
    """Registered households of the village, by head's name, as ids."""
    made = [
        make_household(village, "H'Hen Niê", address="Nhà 12"),
        make_household(village, "Nguyễn Văn An", address="Tổ 3"),
        make_household(village, "Nguyễn Thị Bình", address="Tổ 4"),
    ]
    return {household.head_name: household.id for household in made}
