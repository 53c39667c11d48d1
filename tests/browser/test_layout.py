from app.demo.services import load_demo
from tests.browser.conftest import scrolls_sideways, small_tap_targets


def demo_sign_in(role: str) -> tuple[str, str]:
    for line in load_demo().splitlines():
        line_role, phone, password = line.split()[:3]
        if line_role == role:
            return phone, password
    raise AssertionError(f"no demo {role}")


def test_demo_volunteer_signs_in_on_a_phone_without_sideways_scroll(app, page, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    phone, password = demo_sign_in("volunteer")

    page.goto("/")
    assert page.url.endswith("/login?next=/")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    assert not scrolls_sideways(page)
    assert small_tap_targets(page) == []

    page.fill("input[name=phone]", phone)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")

    page.wait_for_url("**/")
    assert "Tình nguyện viên" in page.locator("main").inner_text()
    assert not scrolls_sideways(page)
    assert small_tap_targets(page) == []

    page.click("text=Đổi mật khẩu")
    assert not scrolls_sideways(page)


def test_wrong_password_shows_the_message_next_to_the_field(app, page, make_user):
    user = make_user("volunteer")
    page.goto("/login")
    page.fill("input[name=phone]", user.phone)
    page.fill("input[name=password]", "sai-mat-khau")
    page.click("button[type=submit]")
    assert page.locator("#password-error").inner_text() == "Số điện thoại hoặc mật khẩu không đúng."
    assert page.input_value("input[name=phone]") == user.phone
    assert not scrolls_sideways(page)
