"""The dataset page, a version's diff and the gallery (filters, paging, edits of selected images)."""

from __future__ import annotations

import json
import re

from sqlalchemy import select

from classmill.server.db.datasets import DatasetVersion, VersionImage
from classmill.server.db.session import writing
from support.server_datasets import make_dataset, user_named
from support.web_pages import error_of, flash_of, log_in_browser, set_up_in_browser

REPORT = {
    "ok": False, "summary": "1 error(s), 1 warning(s): 5 usable images in 2 classes", "files_checked": 6,
    "classes": [{"label": "好", "images": 3, "share": 0.6, "status": "warning"},
                {"label": "ng", "images": 2, "share": 0.4, "status": "error"}],
    "errors": [{"rule": "truncated", "severity": "error", "message": "ng/cut.jpg: the JPEG data ends early",
                "fix": "Copy it again from the original.", "file": "ng/cut.jpg", "label": "ng"}],
    "warnings": [{"rule": "extension_mismatch", "severity": "warning", "message": "好/1.png: named .png but JPEG",
                  "fix": "Rename it to .jpeg.", "file": "好/1.png", "label": "好"},
                 {"rule": "too_few_images", "severity": "warning", "message": "class ng has 2 images",
                  "fix": "Add more images to ng."}],
}


def _dataset(app, images=None, report=REPORT):
    state = app.state.classmill
    with state.sessions() as session:
        images = images or [("好", None, f"好/{i}.png") for i in range(3)] + [("ng", None, f"ng/{i}.png") for i in range(2)]
        dataset, version, hashes = make_dataset(session, state.layout, user_named(session, "admin"), "零件", images)
        with writing(session):
            session.get(DatasetVersion, version.id).check_report = report
            for row in session.scalars(select(VersionImage).where(VersionImage.version_id == version.id,
                                                                  VersionImage.original_name == "好/1.png")):
                row.problems = ["extension_mismatch"]
        return dataset.id, hashes


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_dataset_page_shows_counts_versions_and_the_report_with_thumbnails(app, client):
    csrf = set_up_in_browser(client)
    dataset_id, hashes = _dataset(app)
    page = client.get(f"/datasets/{dataset_id}")
    assert page.status_code == 200
    text = _text(page.text)
    assert "零件" in text and "Images in version 1" in text and "v1 imported admin" in text
    assert f'href="/api/v1/datasets/{dataset_id}/versions/1/export"' in page.text
    assert f'gallery?label=%E5%A5%BD' in page.text  # the class links to its gallery, its Chinese name escaped
    # the problems, errors first, each with its fix; a refused file has no thumbnail, a stored one has
    assert text.index("truncated") < text.index("extension_mismatch")
    assert "Fix: Copy it again from the original." in text and "ng/cut.jpg" in text and "not imported" in text
    assert f'/api/v1/images/{hashes[1]}/thumbnail' in page.text
    assert "class ng has 2 images" in text and "Fix: Add more images to ng." in text
    assert f"gallery?problem=extension_mismatch" in page.text
    assert re.search(r'name="csrf_token"', page.text)  # logout form: the page is a logged-in page
    assert csrf


def test_the_report_in_chinese_words_rules_fixes_and_summary_keeping_the_library_messages(app, client):
    set_up_in_browser(client)
    report = {**REPORT, "usable_images": 5, "files_checked": 6, "ignored_files": 1, "seconds": 0.5,
              "warnings": [*REPORT["warnings"], {"rule": "too_few_images", "severity": "warning",
                                                 "message": "class 好 has 3 images", "fix": "Add more images to 好."}]}
    dataset_id, _ = _dataset(app, report=report)
    client.cookies.set("classmill_lang", "zh_CN")
    text = _text(client.get(f"/datasets/{dataset_id}").text)
    # the rule as a title, its code beside it (the gallery's filter uses it), the fix in Chinese
    assert "图片文件不完整 truncated" in text and "扩展名与内容不符 extension_mismatch" in text
    assert "修正方法： 文件被截断（下载或复制未完成）：请从原件重新复制。" in text
    assert "Copy it again from the original." not in text and "Rename it to .jpeg." not in text
    # the library's own message per file stays: it names the file and what was measured
    assert "ng/cut.jpg the JPEG data ends early" in text and "named .png but JPEG" in text
    # one rule's per-class fixes read the same in Chinese: one group, with both classes' messages
    assert text.count("类别的图片太少") == 1
    assert "class ng has 2 images" in text and "class 好 has 3 images" in text
    assert "1 个错误，3 个警告：2 个类别共 5 张可用图片（检查了 6 个文件，忽略了 1 个系统或隐藏文件，用时 0.50 秒）" in text
    gallery = _text(client.get(f"/datasets/{dataset_id}/versions/1/gallery").text)
    assert "扩展名与内容不符 (extension_mismatch)" in gallery
    client.cookies.set("classmill_lang", "en")
    english = _text(client.get(f"/datasets/{dataset_id}").text)
    assert "Image file cut off truncated" in english and "Fix: Copy it again from the original." in english
    assert REPORT["summary"] in english  # the library's own summary line
    assert english.count("Too few images in a class") == 2  # two fixes naming their class: two groups


def test_the_upload_cards_carry_the_refusals_in_chinese_for_their_script(app, client):
    """The zip import and the class drop show the API's refusals from JavaScript: the page hands it the table."""
    set_up_in_browser(client)
    dataset_id, _ = _dataset(app)
    client.cookies.set("classmill_lang", "zh_CN")
    cards = [json.loads(found) for found in re.findall(r"data-messages='([^']*)'", client.get(f"/datasets/{dataset_id}").text)]
    assert len(cards) == 2
    for card in cards:
        assert card["errors"]["not_a_zip"] == ["上传被拒绝。", "请发送图片的 .zip 压缩包或图片文件本身，然后重试。"]
        assert card["errors"]["no_class_folders"][0].startswith("该 zip 中没有类别文件夹")
    client.cookies.set("classmill_lang", "en")
    english = re.findall(r"data-messages='([^']*)'", client.get(f"/datasets/{dataset_id}").text)
    assert [json.loads(found)["errors"] for found in english] == [{}, {}]  # English: the API's own words


def test_dataset_page_is_private_and_empty_until_import(app, client, new_client):
    csrf = set_up_in_browser(client)
    client.post("/datasets", data={"name": "empty one", "csrf_token": csrf})
    dataset_id = re.search(r'href="/datasets/(\d+)">empty one', client.get("/datasets").text).group(1)
    empty = client.get(f"/datasets/{dataset_id}")
    assert "No images yet" in empty.text and "Upload and import" in empty.text
    client.post("/admin/users", data={"username": "bob", "password": "bob-password", "csrf_token": csrf})
    bob = new_client()
    log_in_browser(bob, "bob", "bob-password")
    probe = bob.get(f"/datasets/{dataset_id}")
    assert probe.status_code == 404 and f"There is no dataset {dataset_id}" in error_of(probe)
    assert bob.get(f"/datasets/{dataset_id}/versions/1/gallery").status_code == 404


def test_gallery_filters_pages_and_searches_on_the_server(app, client):
    set_up_in_browser(client)
    images = [("a", None, f"a/img-{i:03d}.png") for i in range(65)] + [("b", "val", "b/其他.png")]
    dataset_id, _ = _dataset(app, images, report={})
    url = f"/datasets/{dataset_id}/versions/1/gallery"
    first = client.get(url)
    assert "Images 1–60 of 66" in _text(first.text) and first.text.count('class="tile"') == 60
    assert "Page 1 of 2" in first.text and 'href="?page=2"' in first.text
    second = client.get(url + "?page=2")
    assert second.text.count('class="tile"') == 6
    only_b = client.get(url + "?label=b")
    assert only_b.text.count('class="tile"') == 1 and "其他.png" in only_b.text
    assert client.get(url + "?split=val").text.count('class="tile"') == 1
    assert client.get(url + "?q=IMG-06").text.count('class="tile"') == 5  # case-insensitive part of the name
    nothing = client.get(url + "?q=zzz")
    assert "No images here" in nothing.text
    assert client.get(url + "?split=nonsense").status_code == 422


def test_editing_the_selection_makes_a_new_version(app, client):
    csrf = set_up_in_browser(client)
    dataset_id, hashes = _dataset(app)
    edit = f"/datasets/{dataset_id}/versions/1/gallery/edit"
    relabel = client.post(edit, data={"action": "relabel", "hashes": hashes[:2], "label": "ng", "csrf_token": csrf})
    assert relabel.url.path == f"/datasets/{dataset_id}/versions/2/gallery"
    assert flash_of(relabel) == "Version 2 was made from version 1: relabelled 2 image(s) to 'ng'."
    moved = client.post(f"/datasets/{dataset_id}/versions/2/gallery/edit",
                        data={"action": "move", "hashes": [hashes[0]], "split": "test", "csrf_token": csrf})
    assert moved.url.path.endswith("/versions/3/gallery") and "moved 1 image(s) to test" in flash_of(moved)
    new_class = client.post(f"/datasets/{dataset_id}/versions/3/gallery/edit",
                            data={"action": "new_class", "hashes": [hashes[4]], "new_class": "划痕", "csrf_token": csrf})
    assert new_class.url.path.endswith("/versions/4/gallery")
    deleted = client.post(f"/datasets/{dataset_id}/versions/4/gallery/edit",
                          data={"action": "delete", "hashes": [hashes[3]], "csrf_token": csrf})
    assert deleted.url.path.endswith("/versions/5/gallery")
    state = app.state.classmill
    with state.sessions() as session:
        v5 = session.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id,
                                                          DatasetVersion.number == 5))
        rows = {r.content_hash: (r.label, r.split) for r in session.scalars(
            select(VersionImage).where(VersionImage.version_id == v5.id))}
        assert v5.classes == ["ng", "好", "划痕"]
    assert rows == {hashes[0]: ("ng", "test"), hashes[1]: ("ng", None), hashes[2]: ("好", None),
                    hashes[4]: ("划痕", None)}
    # the diff page of version 2 shows what the relabel did
    diff = _text(client.get(f"/datasets/{dataset_id}/versions/2/diff").text)
    assert "From v1 to v2" in diff and "2 relabelled" in diff and "0 added" in diff

    # refusals come back as the gallery with the service's words, and make no version
    same = client.post(edit, data={"action": "relabel", "hashes": hashes[3:5], "label": "ng", "csrf_token": csrf})
    assert same.status_code == 422 and "already has that label" in error_of(same)
    taken = client.post(edit, data={"action": "new_class", "hashes": hashes[:1], "new_class": "ng", "csrf_token": csrf})
    assert taken.status_code == 422 and "already has class 'ng'" in error_of(taken)
    stranger = client.post(edit, data={"action": "delete", "hashes": ["0" * 32], "csrf_token": csrf})
    assert stranger.status_code == 422 and "not in version 1" in error_of(stranger)
    no_token = client.post(edit, data={"action": "delete", "hashes": hashes[:1]})
    assert no_token.status_code == 403
    with state.sessions() as session:
        assert session.scalar(select(DatasetVersion.number).where(DatasetVersion.dataset_id == dataset_id)
                              .order_by(DatasetVersion.number.desc()).limit(1)) == 5


def _undo_form(page) -> dict:
    """The flash's Undo form: its action and hidden fields."""
    found = re.search(r'<form method="post" action="([^"]+)" class="flash-undo">(.*?)</form>', page.text, re.S)
    assert found, "the flash has no Undo button"
    return {"action": found.group(1), **dict(re.findall(r'name="(\w+)" value="([^"]*)"', found.group(2)))}


def _labels(app, dataset_id: int, number: int) -> dict[str, tuple]:
    with app.state.classmill.sessions() as session:
        version = session.scalar(select(DatasetVersion).where(DatasetVersion.dataset_id == dataset_id,
                                                               DatasetVersion.number == number))
        return {r.content_hash: (r.label, r.split) for r in session.scalars(
            select(VersionImage).where(VersionImage.version_id == version.id))}


def test_undo_in_the_flash_restores_the_parent_in_a_new_version(app, client):
    csrf = set_up_in_browser(client)
    dataset_id, hashes = _dataset(app)
    relabel = client.post(f"/datasets/{dataset_id}/versions/1/gallery/edit",
                          data={"action": "relabel", "hashes": hashes[:2], "label": "ng", "csrf_token": csrf})
    undo = _undo_form(relabel)
    assert undo == {"action": f"/datasets/{dataset_id}/versions/2/restore", "csrf_token": csrf, "from_version": "1",
                    "back": "gallery", "undo": "1"}
    undone = client.post(undo.pop("action"), data=undo)
    assert undone.url.path == f"/datasets/{dataset_id}/versions/3/gallery"
    assert flash_of(undone) == ("Undone: version 3 has the images, labels and splits of version 1 again. "
                                "Version 2 stays in the list of versions.")
    assert 'class="flash-undo"' not in undone.text  # an undo offers no undo of its own
    assert _labels(app, dataset_id, 3) == _labels(app, dataset_id, 1) != _labels(app, dataset_id, 2)
    # restoring version 1 onto version 3 (equal to it) is refused, on the gallery it came from
    again = client.post(f"/datasets/{dataset_id}/versions/3/restore",
                        data={"from_version": "1", "back": "gallery", "undo": "1", "csrf_token": csrf})
    assert again.status_code == 422 and "already has the images" in error_of(again)
    assert "Gallery of version 3" in again.text
    no_token = client.post(f"/datasets/{dataset_id}/versions/2/restore", data={"from_version": "1", "back": "dataset"})
    assert no_token.status_code == 403


def test_the_versions_list_restores_a_version_after_asking(app, client):
    csrf = set_up_in_browser(client)
    dataset_id, hashes = _dataset(app)
    client.post(f"/datasets/{dataset_id}/versions/1/gallery/edit",
                data={"action": "delete", "hashes": hashes[:1], "csrf_token": csrf})
    page = client.get(f"/datasets/{dataset_id}")
    # only the older version offers it, as a question posting to the newest version's restore
    assert page.text.count("Restore this version") == 1
    assert "Make a new version v3 with the images of v1?" in page.text
    assert f'action="/datasets/{dataset_id}/versions/2/restore"' in page.text
    restored = client.post(f"/datasets/{dataset_id}/versions/2/restore",
                           data={"from_version": "1", "back": "dataset", "csrf_token": csrf})
    assert restored.url.path == f"/datasets/{dataset_id}"
    assert flash_of(restored) == "Version 3 was made from version 2: restored version 1."
    assert _undo_form(restored)["back"] == "dataset"  # a restore is undone like any edit
    assert "v3 restored version 1 admin" in _text(restored.text)
    assert _labels(app, dataset_id, 3) == _labels(app, dataset_id, 1)
    refused = client.post(f"/datasets/{dataset_id}/versions/3/restore",
                          data={"from_version": "1", "back": "dataset", "csrf_token": csrf})
    assert refused.status_code == 422 and "already has the images" in error_of(refused)
    bad = client.post(f"/datasets/{dataset_id}/versions/3/restore",
                      data={"from_version": "one", "back": "dataset", "csrf_token": csrf})
    assert bad.status_code == 422 and "from_version" in error_of(bad)
