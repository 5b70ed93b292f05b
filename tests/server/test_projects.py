"""Projects through the API: create on a readable dataset, list what I may see, get, rename, delete."""

from __future__ import annotations

from classmill.server.db.datasets import Dataset
from classmill.server.db.projects import Share
from classmill.server.state import STATE_ATTRIBUTE
from support.server_accounts import assert_problem
from support.server_resources import create, make_dataset, people  # noqa: F401 - `people` is a fixture


def test_create_get_list_update_delete(app, people):
    dataset_id = make_dataset(app, "alice", "steel")
    alice, headers = people["alice"]
    made = create(people, "alice", name="  defects ", dataset_id=dataset_id, description="scratches vs dents")
    assert made.status_code == 201, made.text
    project = made.json()
    assert (project["name"], project["dataset_id"], project["task_type"]) == ("defects", dataset_id, "image_classification")
    assert project["description"] == "scratches vs dents"
    assert alice.get(f"/api/v1/projects/{project['id']}").json() == project

    changed = alice.patch(f"/api/v1/projects/{project['id']}", json={"name": "defects v2"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["name"] == "defects v2"
    assert changed.json()["description"] == "scratches vs dents"  # unset fields keep their value

    listed = alice.get("/api/v1/projects").json()
    assert listed["total"] == 1 and listed["items"][0]["name"] == "defects v2"
    assert alice.delete(f"/api/v1/projects/{project['id']}", headers=headers).status_code == 204
    assert_problem(alice.get(f"/api/v1/projects/{project['id']}"), 404, "project_not_found")
    assert alice.get("/api/v1/projects").json()["total"] == 0


def test_a_project_needs_a_dataset_the_user_can_read(app, people):
    bobs = make_dataset(app, "bob", "bobs")
    hidden = assert_problem(create(people, "alice", name="p", dataset_id=bobs), 404, "dataset_not_found")
    missing = assert_problem(create(people, "alice", name="p", dataset_id=bobs + 1000), 404, "dataset_not_found")
    assert hidden["detail"] == missing["detail"].replace(str(bobs + 1000), str(bobs))
    bob, bob_headers = people["bob"]
    bob.post(f"/api/v1/datasets/{bobs}/shares", json={"username": "alice", "permission": "read"}, headers=bob_headers)
    assert create(people, "alice", name="p", dataset_id=bobs).status_code == 201  # a read share is enough
    assert_problem(create(people, "alice", name="q", dataset_id=bobs, task_type="detection"), 422, "invalid_request")


def test_names_are_unique_per_owner_and_must_be_usable(app, people):
    alices, bobs = make_dataset(app, "alice", "a"), make_dataset(app, "bob", "b")
    assert create(people, "alice", name="p", dataset_id=alices).status_code == 201
    assert_problem(create(people, "alice", name="p", dataset_id=alices), 409, "name_taken")
    assert create(people, "bob", name="p", dataset_id=bobs).status_code == 201  # another owner: fine
    other = create(people, "alice", name="other", dataset_id=alices).json()
    alice, headers = people["alice"]
    assert_problem(alice.patch(f"/api/v1/projects/{other['id']}", json={"name": "p"}, headers=headers), 409, "name_taken")
    assert alice.patch(f"/api/v1/projects/{other['id']}", json={"name": "other"}, headers=headers).status_code == 200
    for bad in ("   ", "line\nbreak"):
        assert_problem(create(people, "alice", name=bad, dataset_id=alices), 400, "invalid_name")
    assert_problem(create(people, "alice", name="x" * 101, dataset_id=alices), 422, "invalid_request")


def test_members_see_only_their_own_and_shared_projects_admins_see_all(app, people):
    alices, bobs = make_dataset(app, "alice", "a"), make_dataset(app, "bob", "b")
    a = create(people, "alice", name="alice's", dataset_id=alices).json()
    b = create(people, "bob", name="bob's", dataset_id=bobs).json()
    alice, alice_headers = people["alice"]
    bob, _ = people["bob"]
    admin, _ = people["admin"]

    def names(c):
        return [p["name"] for p in c.get("/api/v1/projects").json()["items"]]

    assert names(alice) == ["alice's"] and names(bob) == ["bob's"] and names(admin) == ["alice's", "bob's"]
    assert [p["name"] for p in admin.get(f"/api/v1/projects?dataset_id={bobs}").json()["items"]] == ["bob's"]
    assert alice.get(f"/api/v1/projects?dataset_id={bobs}").json()["total"] == 0  # bob's stay hidden
    assert_problem(bob.get(f"/api/v1/projects/{a['id']}"), 404, "project_not_found")
    assert admin.get(f"/api/v1/projects/{a['id']}").status_code == 200
    alice.post(f"/api/v1/projects/{a['id']}/shares", json={"username": "bob", "permission": "read"}, headers=alice_headers)
    assert names(bob) == ["alice's", "bob's"]
    assert admin.get(f"/api/v1/projects/{b['id']}").json()["owner_id"] != admin.get("/api/v1/me").json()["id"]


def test_project_list_is_paged_in_a_stable_order(app, people):
    dataset_id = make_dataset(app, "alice", "a")
    for i in range(5):
        create(people, "alice", name=f"p{i}", dataset_id=dataset_id)
    alice, _ = people["alice"]
    first, second = alice.get("/api/v1/projects?limit=3").json(), alice.get("/api/v1/projects?limit=3&offset=3").json()
    assert first["total"] == second["total"] == 5
    assert [p["name"] for p in first["items"] + second["items"]] == [f"p{i}" for i in range(5)]


def test_write_share_edits_but_only_owner_or_admin_deletes(app, people):
    dataset_id = make_dataset(app, "alice", "a")
    project = create(people, "alice", name="p", dataset_id=dataset_id).json()
    url = f"/api/v1/projects/{project['id']}"
    alice, alice_headers = people["alice"]
    bob, bob_headers = people["bob"]
    admin, admin_headers = people["admin"]
    alice.post(f"{url}/shares", json={"username": "bob", "permission": "read"}, headers=alice_headers)
    assert_problem(bob.patch(url, json={"description": "mine now"}, headers=bob_headers), 403, "read_only_share")
    assert_problem(bob.delete(url, headers=bob_headers), 403, "read_only_share")
    alice.put(f"{url}/shares/bob", json={"permission": "write"}, headers=alice_headers)
    assert bob.patch(url, json={"description": "edited by bob"}, headers=bob_headers).json()["description"] == "edited by bob"
    assert_problem(bob.delete(url, headers=bob_headers), 403, "not_owner")
    assert admin.delete(url, headers=admin_headers).status_code == 204
    assert_problem(alice.get(url), 404)
    assert_problem(bob.get(url), 404)


def test_deleting_a_project_removes_its_shares_but_not_its_dataset(app, people):
    dataset_id = make_dataset(app, "alice", "a")
    first = create(people, "alice", name="p", dataset_id=dataset_id).json()
    alice, headers = people["alice"]
    alice.post(f"/api/v1/projects/{first['id']}/shares", json={"username": "bob", "permission": "read"}, headers=headers)
    alice.delete(f"/api/v1/projects/{first['id']}", headers=headers)
    with getattr(app.state, STATE_ATTRIBUTE).sessions() as session:
        assert session.query(Share).count() == 0
        assert session.get(Dataset, dataset_id) is not None
    # The same name is free again for the owner.
    assert create(people, "alice", name="p", dataset_id=dataset_id).status_code == 201



def test_someone_elses_project_is_404_exactly_like_a_missing_one_for_every_method(app, people):
    project = create(people, "alice", name="p", dataset_id=make_dataset(app, "alice", "a")).json()
    bob, headers = people["bob"]
    missing = project["id"] + 1000
    for method, body in (("GET", None), ("PATCH", {"name": "taken over"}), ("DELETE", None)):
        hidden = assert_problem(bob.request(method, f"/api/v1/projects/{project['id']}", json=body, headers=headers), 404)
        absent = assert_problem(bob.request(method, f"/api/v1/projects/{missing}", json=body, headers=headers), 404)
        assert hidden == {**absent, "detail": absent["detail"].replace(str(missing), str(project["id"]))}
    alice, _ = people["alice"]
    assert alice.get(f"/api/v1/projects/{project['id']}").json()["name"] == "p"  # untouched
