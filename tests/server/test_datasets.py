"""Datasets: create, list only what one may see, get, delete (refused while a project uses it)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from classmill.server.db.projects import Project
from classmill.server.db.session import make_engine
from support.server_accounts import assert_problem
from support.server_imports import class_zip, wait_for_job

from support.server_platform import platform  # noqa: F401 - fixture


def _import_zip(client, dataset_id: int, zip_path) -> dict:
    response = client.post(f"/api/v1/datasets/{dataset_id}/imports", content=zip_path.read_bytes(),
                           headers={"Content-Type": "application/zip"})
    assert response.status_code == 202, response.text
    return wait_for_job(client.get, response.json()["id"])


def test_create_list_get_and_others_see_nothing(platform):
    first = platform.new_dataset(name="parts")
    created = platform.admin.get(f"/api/v1/datasets/{first}").json()
    assert created["status"] == "empty" and created["task_type"] == "single_label"
    assert_problem(platform.admin.post("/api/v1/datasets", json={"name": "parts"}), 409, "dataset_name_taken")
    mine = platform.new_dataset(platform.member, name="bobs")
    assert [d["id"] for d in platform.member.get("/api/v1/datasets").json()["items"]] == [mine]
    page = platform.admin.get("/api/v1/datasets", params={"limit": 1, "offset": 1}).json()
    assert page["total"] == 2 and [d["id"] for d in page["items"]] == [mine]  # admins see all
    assert_problem(platform.member.get(f"/api/v1/datasets/{first}"), 404, "dataset_not_found")
    assert_problem(platform.member.delete(f"/api/v1/datasets/{first}"), 404, "dataset_not_found")
    assert_problem(platform.member.get(f"/api/v1/datasets/{first}/report"), 404, "dataset_not_found")


def test_delete_is_refused_while_a_project_uses_it_and_keeps_files_other_versions_use(platform, settings, tmp_path):
    zip_path = class_zip(tmp_path, {"ok": 3, "ng": 3})
    kept, dropped = platform.new_dataset(name="kept"), platform.new_dataset(name="dropped")
    assert _import_zip(platform.admin, kept, zip_path)["state"] == "succeeded"
    assert _import_zip(platform.admin, dropped, zip_path)["state"] == "succeeded"
    files = platform.stored_files()
    assert len(files) == 6

    engine = make_engine(settings.resolved_database_url)
    with Session(engine) as session:
        project = Project(owner_id=platform.admin.get("/api/v1/me").json()["id"], name="p", dataset_id=dropped)
        session.add(project)
        session.commit()
        assert_problem(platform.admin.delete(f"/api/v1/datasets/{dropped}"), 409, "dataset_in_use")
        session.delete(project)
        session.commit()
    engine.dispose()

    assert platform.admin.delete(f"/api/v1/datasets/{dropped}").status_code == 204
    assert platform.stored_files() == files  # the same images are still in "kept"
    assert_problem(platform.admin.get(f"/api/v1/datasets/{dropped}"), 404)
    assert platform.admin.delete(f"/api/v1/datasets/{kept}").status_code == 204
    assert platform.stored_files() == []
    assert list((platform.workspace / "store" / "thumbnails").rglob("*.jpg")) == []
