from app.extensions import db
from tests.browser.conftest import scrolls_sideways, small_tap_targets


def test_open_data_reads_on_a_phone_without_sideways_scroll(page, communes):
    for commune in communes.values():  # province-sized figures: the widest numbers the tables hold
        commune.target_households = 25_000
    db.session.commit()
    page.goto("/open-data")
    assert page.locator("h1").is_visible()
    assert not scrolls_sideways(page)
    assert small_tap_targets(page) == []
    # The tables fit the screen too, instead of scrolling inside their frame.
    overflowing = page.evaluate(
        "[...document.querySelectorAll('.table-wrap')].filter(e => e.scrollWidth > e.clientWidth).length"
    )
    assert overflowing == 0
    # A phone shows the last three months of sessions; the files have all twelve.
    assert page.locator("table.by-month thead th:visible").count() == 1 + 3
