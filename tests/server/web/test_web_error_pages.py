"""Routing errors as a browser meets them: a page in the site's layout, translated, with a way home —
while the API, the published endpoints and the static files keep the API's JSON answer."""

from __future__ import annotations

from support.web_pages import error_of, set_up_in_browser


def _is_page(response) -> bool:
    return response.headers["content-type"].startswith("text/html") and '<a href="/">' in response.text


def test_an_unknown_page_address_is_a_page_in_the_layout_with_a_link_home(client):
    set_up_in_browser(client)
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and _is_page(missing)
    assert "Not found" in missing.text and "There is no page at this address." in error_of(missing)
    assert 'href="/account"' in missing.text  # the logged-in layout: the visitor is known on an error page too
    assert missing.headers["content-security-policy"].startswith("default-src 'self'")

    wrong_method = client.delete("/account")
    assert wrong_method.status_code == 405 and _is_page(wrong_method)
    assert "does not take that kind of request" in error_of(wrong_method)
    assert "GET" in wrong_method.headers["allow"]


def test_error_pages_are_translated_and_need_no_login(new_client):
    stranger = new_client(headers={"Accept-Language": "zh-CN"})
    missing = stranger.get("/datasets/1/nothing-here")
    assert missing.status_code == 404 and _is_page(missing) and 'lang="zh-CN"' in missing.text
    assert "此地址没有页面" in error_of(missing)
    assert "There is no page at this address." in error_of(missing)  # the English original, small, beneath
    assert stranger.get("/login", follow_redirects=False).status_code in (200, 303)


def test_the_api_and_other_programs_keep_the_json_shape(client):
    for path in ("/api/v1/no-such-route", "/static/no-such.css", "/api/v1"):
        answer = client.get(path, headers={"Accept": "text/html"})
        assert answer.status_code == 404 and answer.json()["code"] == "not_found", path
    endpoint = client.get("/serve/nothing/no/such/route", headers={"Accept": "text/html"})
    assert endpoint.headers["content-type"] == "application/json" and endpoint.json()["code"]
    wrong = client.delete("/api/v1/health")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


def test_common_refusals_read_in_chinese_with_the_services_words_beneath(client):
    csrf = set_up_in_browser(client)
    client.post("/datasets", data={"name": "车辆", "csrf_token": csrf})
    client.cookies.set("classmill_lang", "zh_CN")
    taken = client.post("/datasets", data={"name": "车辆", "csrf_token": csrf})
    assert taken.status_code == 409
    assert "该名称已被使用。" in error_of(taken) and "请换一个名称。" in error_of(taken)
    assert "You already have a dataset named '车辆'." in error_of(taken)  # which name, in the service's words
    client.cookies.set("classmill_lang", "en")
    english = client.post("/datasets", data={"name": "车辆", "csrf_token": csrf})
    assert error_of(english) == "The dataset was not created You already have a dataset named '车辆'. What to do: Choose another name."


def test_every_translated_error_code_is_one_the_server_raises():
    from pathlib import Path

    import classmill.server as server
    from classmill.server.web.error_texts import ERROR_TEXTS

    source = "\n".join(p.read_text(encoding="utf-8") for p in Path(server.__file__).parent.rglob("*.py")
                       if p.name != "error_texts.py")
    unused = [code for code in ERROR_TEXTS if f'"{code}"' not in source]
    assert unused == []
