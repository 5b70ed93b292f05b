"""One journey through the web UI in headless chromium, by labels and roles as a person (or a screen
reader) finds them: first-run setup, login, API tokens, users, datasets, projects, then 简体中文.

Every page is saved as a screenshot; no console error and no request off 127.0.0.1 is allowed.
"""

from __future__ import annotations

import re

import pytest

from support.browser import Screenshots, needs_chromium

pytestmark = needs_chromium

ADMIN, PASSWORD = "admin", "admin-password"


@pytest.fixture
def screenshots(tmp_path_factory) -> Screenshots:
    return Screenshots(tmp_path_factory.mktemp("screenshots"))


def test_journey_setup_account_users_datasets_projects_and_chinese(browser_page, screenshots):
    from playwright.sync_api import expect

    page, watch = browser_page

    # A new server sends every visitor to first-run setup.
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/setup$"))
    expect(page.get_by_role("heading", name="Welcome to classmill")).to_be_visible()
    screenshots.take(page, "setup")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create the admin and log in").click()
    expect(page).to_have_url(re.compile(r"/datasets$"))

    # Log out, fail once, then log in with the keyboard alone.
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("status")).to_have_text("You have logged out.")
    screenshots.take(page, "login")
    page.get_by_label("Username").fill(ADMIN)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    screenshots.take(page, "login-error")
    page.get_by_label("Username").fill("")
    expect(page.get_by_label("Username")).to_be_focused()  # the page focuses the first field
    page.keyboard.type(ADMIN)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/datasets$"))

    # Datasets: the empty state says what to do next.
    expect(page.get_by_role("link", name="Datasets")).to_have_attribute("aria-current", "page")
    expect(page.get_by_text("No datasets yet")).to_be_visible()
    expect(page.get_by_text("images/ok/*.jpg", exact=False)).to_be_visible()
    screenshots.take(page, "datasets-empty")

    # Account: a token is shown once, copied with the button, listed by its prefix, then revoked.
    page.get_by_role("link", name=re.compile(rf"Account: {ADMIN}")).click()
    expect(page.get_by_text("No API tokens yet")).to_be_visible()
    page.get_by_label("Name of the new token").fill("laptop")
    page.get_by_role("button", name="Create token").click()
    token_field = page.get_by_label("New token", exact=True)
    expect(token_field).to_have_value(re.compile(r"^cm_"))
    secret = token_field.input_value()
    page.get_by_role("button", name="Copy", exact=True).click()
    expect(page.get_by_text("Copied", exact=True)).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshots.take(page, "account-new-token")
    page.goto("/account")
    expect(page.get_by_label("New token", exact=True)).to_have_count(0)  # shown once only
    row = page.get_by_role("row").filter(has_text="laptop")
    expect(row).to_contain_text(secret[:10])
    row.get_by_role("button", name="Revoke").click()
    expect(row.get_by_text("Revoke “laptop”? Programs using it stop working.")).to_be_visible()
    expect(row.get_by_role("button", name="Yes, revoke")).to_be_focused()
    screenshots.take(page, "account-revoke-confirm")
    row.get_by_role("button", name="Yes, revoke").click()
    expect(page.get_by_role("status")).to_contain_text("Token “laptop” was revoked.")
    expect(page.get_by_role("row").filter(has_text="laptop")).to_contain_text("Revoked")
    screenshots.take(page, "account-revoked")

    # Admin: create a user; a taken name is said in the page, next to the form.
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("bob-password")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("status")).to_contain_text("User “bob” was created.")
    expect(page.get_by_role("row").filter(has_text="bob")).to_contain_text("Member")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("bob-password")
    page.get_by_role("button", name="Create user").click()
    expect(page.get_by_role("alert")).to_contain_text("The username 'bob' is taken.")
    screenshots.take(page, "admin-users")

    # Datasets and projects: create one of each.
    page.get_by_role("link", name="Datasets").click()
    page.get_by_label("Name", exact=True).fill("零件 parts")
    page.get_by_label("Description (optional)").fill("Castings from line 3")
    page.get_by_role("button", name="Create dataset").click()
    expect(page.get_by_role("status")).to_contain_text("Dataset “零件 parts” was created.")
    expect(page.get_by_role("row").filter(has_text="零件 parts")).to_contain_text("No images yet")
    screenshots.take(page, "datasets")
    page.get_by_role("link", name="Projects").click()
    page.get_by_label("Name", exact=True).fill("inspection")
    page.get_by_label("Dataset").select_option(label="零件 parts")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("status")).to_contain_text("Project “inspection” was created.")
    expect(page.get_by_role("row").filter(has_text="inspection")).to_contain_text("零件 parts")
    screenshots.take(page, "projects")

    # 简体中文: switched from any page, remembered on the next ones.
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_role("heading", name="项目", exact=True)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="inspection")).to_contain_text("零件 parts")
    screenshots.take(page, "zh-projects")
    page.get_by_role("link", name="数据集").click()
    expect(page.get_by_role("heading", name="数据集", exact=True)).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="零件 parts")).to_contain_text("尚无图片")
    screenshots.take(page, "zh-datasets")
    page.get_by_role("link", name=re.compile(rf"账户： ?{ADMIN}")).click()
    expect(page.get_by_role("heading", name="API 令牌")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="laptop")).to_contain_text("已吊销")
    screenshots.take(page, "zh-account")
    page.get_by_role("link", name="用户").click()
    expect(page.get_by_text("本服务器共有 2 个用户。")).to_be_visible()
    page.get_by_role("row").filter(has_text="bob").get_by_role("button", name="停用").click()
    page.get_by_role("button", name="确认停用").click()
    expect(page.get_by_role("status")).to_contain_text("用户“bob”已停用")
    screenshots.take(page, "zh-admin-users")
    page.get_by_role("button", name="退出登录").click()
    expect(page.get_by_role("heading", name="登录 classmill")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("您已退出登录。")
    screenshots.take(page, "zh-login")

    assert watch.console_errors == []
    assert watch.error_pages == [(401, "/login"), (409, "/admin/users")]  # the two refusals above, as pages
    assert watch.foreign_requests == [] and watch.requests > 20
    assert len(screenshots.taken) == 15
