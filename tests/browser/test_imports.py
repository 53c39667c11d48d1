from tests.browser.conftest import scrolls_sideways, small_tap_targets
from tests.conftest import COMMUNE_A, PASSWORD

LONG = "Nguyễn" * 20  # 120 letters without a space: must wrap, not widen the page
ROWS = (
    "thon,chu_ho,dia_chi,so_dien_thoai\n"
    "Buôn Ako Dhông,H'Hen Niê,Số 4,0912 345 678\n"
    f"Thôn có tên rất dài để thử xuống dòng trên điện thoại nhỏ,{LONG},{'x' * 150},\n"
    "Thôn 3,,,123\n"
)


def test_an_officer_imports_a_file_on_a_phone(page, make_user, tmp_path):
    officer = make_user("officer", COMMUNE_A)
    page.goto("/login")
    page.fill("input[name=phone]", officer.phone)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/")

    page.goto("/imports")
    assert not scrolls_sideways(page)
    assert small_tap_targets(page) == []

    path = tmp_path / "danh-sach.csv"
    path.write_text(ROWS, encoding="utf-8")
    page.set_input_files("input[type=file]", str(path))
    page.click("form.upload button[type=submit]")
    page.wait_for_url("**/imports/*")
    assert page.locator(".import-create .record").count() == 2
    assert page.locator(".import-errors .record").count() == 2  # row 4: no head, not a phone
    assert not scrolls_sideways(page)
    assert small_tap_targets(page) == []

    page.click("form[action$='/confirm'] button")
    page.wait_for_url("**/imports")
    assert "2" in page.locator(".flash").inner_text()
    assert not scrolls_sideways(page)
