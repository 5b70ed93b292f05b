"""The dataset page's "import from a server path" form: admins only, only with import roots, confined to them."""

from __future__ import annotations

import re
import time

import pytest

from support.images import make_class_folders
from support.web_pages import error_of, flash_of, log_in_browser, set_up_in_browser


@pytest.fixture
def settings(settings, tmp_path, request):
    """The server's settings with one import root (a test parametrizes it to False for none)."""
    if not getattr(request, "param", True):
        return settings
    root = tmp_path / "imports"
    root.mkdir()
    return settings.model_copy(update={"import_roots": [root]})


def _new_dataset(client, csrf: str, name: str) -> str:
    client.post("/datasets", data={"name": name, "csrf_token": csrf})
    return re.search(rf'href="/datasets/(\d+)">{name}', client.get("/datasets").text).group(1)


def test_admins_import_from_a_path_under_the_roots_and_are_told_why_not_elsewhere(client, new_client, settings,
                                                                                    tmp_path):
    root = settings.import_roots[0]
    csrf = set_up_in_browser(client)
    dataset_id = _new_dataset(client, csrf, "钢材 steel")
    page = client.get(f"/datasets/{dataset_id}")
    assert 'action="/datasets/%s/imports/server-path"' % dataset_id in page.text
    assert f"<code>{root}</code>" in page.text

    # a member sees no such form, and posting it anyway is refused
    client.post("/admin/users", data={"username": "bob", "password": "bob-password", "csrf_token": csrf})
    bob = new_client()
    bobs_csrf = log_in_browser(bob, "bob", "bob-password")
    bobs = _new_dataset(bob, bobs_csrf, "bobs")
    assert "server-path" not in bob.get(f"/datasets/{bobs}").text
    refused = bob.post(f"/datasets/{bobs}/imports/server-path", data={"path": str(root), "csrf_token": bobs_csrf})
    assert refused.status_code == 403

    # outside the roots: refused with the translated error, the path kept in the field
    outside = tmp_path / "outside"
    make_class_folders(outside, {"ok": 2, "ng": 2})
    client.cookies.set("classmill_lang", "zh_CN")
    answer = client.post(f"/datasets/{dataset_id}/imports/server-path", data={"path": str(outside), "csrf_token": csrf})
    assert answer.status_code == 403
    assert "该路径不在服务器的导入文件夹中。" in error_of(answer) and "is outside the import roots" in error_of(answer)
    assert f'value="{outside}"' in answer.text and "导入没有开始" in answer.text
    missing = client.post(f"/datasets/{dataset_id}/imports/server-path",
                          data={"path": str(root / "nope"), "csrf_token": csrf})
    assert missing.status_code == 404 and "服务器上该路径下没有任何东西。" in error_of(missing)

    # under a root: the import starts, the page says so and follows it like an uploaded zip's
    make_class_folders(root / "steel", {"ok": 3, "ng": 3})
    started = client.post(f"/datasets/{dataset_id}/imports/server-path",
                          data={"path": str(root / "steel"), "csrf_token": csrf}, follow_redirects=False)
    assert started.status_code == 303 and started.headers["location"] == f"/datasets/{dataset_id}"
    client.cookies.set("classmill_lang", "en")
    followed = client.get(f"/datasets/{dataset_id}")
    assert f"Importing {root / 'steel'} from the server's disk." in flash_of(followed)
    deadline = time.monotonic() + 60
    while client.get(f"/api/v1/datasets/{dataset_id}").json()["status"] == "importing" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert "Images in version 1" in client.get(f"/datasets/{dataset_id}").text


@pytest.mark.parametrize("settings", [False], indirect=True)
def test_without_import_roots_the_form_is_not_shown(client, settings):
    assert settings.import_roots == []
    csrf = set_up_in_browser(client)
    dataset_id = _new_dataset(client, csrf, "plain")
    assert "server-path" not in client.get(f"/datasets/{dataset_id}").text
