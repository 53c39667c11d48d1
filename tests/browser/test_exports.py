from tests.browser.conftest import scrolls_sideways, small_tap_targets
from tests.conftest import COMMUNE_A, PASSWORD


def sign_in(page, user) -> None:
    page.goto("/login")
    page.fill("input[name=phone]", user.phone)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")


def test_exports_page_fits_a_phone(page, make_user, tmp_path):
    sign_in(page, make_user("province"))
    page.goto(f"/exports?commune={COMMUNE_A}")
    assert page.locator("select[name=commune]").input_value() == COMMUNE_A
    assert not scrolls_sideways(page)
    assert small_tap_targets(page) == []
    page.screenshot(path=str(tmp_path / "exports.png"), full_page=True)

    with page.expect_download() as download:
        page.click("a[href^='/exports/totals.xlsx']")
    assert download.value.suggested_filename.startswith(f"tổng-hợp-{COMMUNE_A}-")  # filename* wins


def test_officer_sees_their_commune_fixed(page, make_user):
    sign_in(page, make_user("officer", COMMUNE_A))
    page.goto("/exports")
    assert page.locator("select[name=commune]").count() == 0
    assert "Phường Buôn Ma Thuột" in page.locator("main").inner_text()
    assert not scrolls_sideways(page)
    assert small_tap_targets(page) == []
