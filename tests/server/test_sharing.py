"""Sharing a project or dataset: who may share, with whom, and what each share then allows."""

from __future__ import annotations

import pytest

from support.server_accounts import assert_problem
from support.server_resources import create, make_dataset, people  # noqa: F401 - `people` is a fixture

KINDS = ("projects", "datasets")


@pytest.fixture
def resources(app, people) -> dict:
    """Alice's dataset and a project on it: {"datasets": id, "projects": id}."""
    dataset_id = make_dataset(app, "alice", "steel")
    project = create(people, "alice", name="defects", dataset_id=dataset_id)
    assert project.status_code == 201
    return {"datasets": dataset_id, "projects": project.json()["id"]}


def _shares_url(resources, kind: str) -> str:
    return f"/api/v1/{kind}/{resources[kind]}/shares"


@pytest.mark.parametrize("kind", KINDS)
def test_owner_shares_lists_changes_and_revokes(people, resources, kind):
    url = _shares_url(resources, kind)
    alice, headers = people["alice"]
    bob, _ = people["bob"]
    target = f"/api/v1/{kind}/{resources[kind]}"
    if kind == "projects":  # the dataset routes belong to another module; projects show the effect here
        assert_problem(bob.get(target), 404)
    made = alice.post(url, json={"username": "Bob", "permission": "read"}, headers=headers)
    assert made.status_code == 201, made.text
    assert made.json()["username"] == "bob" and made.json()["permission"] == "read"
    if kind == "projects":
        assert bob.get(target).status_code == 200
    listed = alice.get(url).json()
    assert listed["total"] == 1 and [(s["username"], s["permission"]) for s in listed["items"]] == [("bob", "read")]

    assert_problem(alice.post(url, json={"username": "bob", "permission": "write"}, headers=headers), 409, "already_shared")
    changed = alice.put(f"{url}/bob", json={"permission": "write"}, headers=headers)
    assert changed.status_code == 200 and changed.json()["permission"] == "write"
    assert alice.get(url).json()["items"][0]["permission"] == "write"

    assert alice.delete(f"{url}/bob", headers=headers).status_code == 204
    assert alice.get(url).json()["total"] == 0
    assert_problem(alice.delete(f"{url}/bob", headers=headers), 404, "share_not_found")
    assert_problem(alice.put(f"{url}/bob", json={"permission": "read"}, headers=headers), 404, "share_not_found")
    if kind == "projects":
        assert_problem(bob.get(target), 404)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("permission", ["read", "write"])
def test_a_share_holder_cannot_reshare_or_manage_shares(people, resources, kind, permission):
    url = _shares_url(resources, kind)
    alice, alice_headers = people["alice"]
    bob, bob_headers = people["bob"]
    alice.post(url, json={"username": "bob", "permission": permission}, headers=alice_headers)
    body = assert_problem(bob.post(url, json={"username": "admin", "permission": "read"}, headers=bob_headers),
                          403, "not_owner")
    assert "owner" in body["detail"] and "share" in body["fix"]
    assert_problem(bob.get(url), 403, "not_owner")
    assert_problem(bob.put(f"{url}/bob", json={"permission": "write"}, headers=bob_headers), 403, "not_owner")
    # ... but may leave: drop the share given to them.
    assert bob.delete(f"{url}/bob", headers=bob_headers).status_code == 204
    assert alice.get(url).json()["total"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_strangers_get_404_exactly_like_a_missing_id(people, resources, kind):
    bob, headers = people["bob"]
    missing = resources[kind] + 1000
    for method, suffix, body in (("GET", "", None), ("POST", "", {"username": "bob", "permission": "read"}),
                                 ("PUT", "/alice", {"permission": "read"}), ("DELETE", "/bob", None)):
        hidden = bob.request(method, _shares_url(resources, kind) + suffix, json=body, headers=headers)
        absent = bob.request(method, f"/api/v1/{kind}/{missing}/shares{suffix}", json=body, headers=headers)
        hidden_body, absent_body = assert_problem(hidden, 404), assert_problem(absent, 404)
        assert hidden_body == {**absent_body, "detail": absent_body["detail"].replace(str(missing), str(resources[kind]))}


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_user_self_and_owner_are_refused(people, resources, kind):
    url = _shares_url(resources, kind)
    alice, headers = people["alice"]
    admin, admin_headers = people["admin"]
    body = assert_problem(alice.post(url, json={"username": "zed", "permission": "read"}, headers=headers),
                          404, "user_not_found")
    assert "'zed'" in body["detail"]
    assert_problem(alice.post(url, json={"username": "ALICE", "permission": "read"}, headers=headers), 422, "share_with_self")
    assert_problem(admin.post(url, json={"username": "alice", "permission": "read"}, headers=admin_headers),
                   422, "share_with_owner")
    assert_problem(alice.post(url, json={"username": "bob", "permission": "admin"}, headers=headers), 422, "invalid_request")
    assert_problem(alice.delete(f"{url}/zed", headers=headers), 404, "user_not_found")
    assert alice.get(url).json()["total"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_an_admin_manages_anyones_shares(people, resources, kind):
    url = _shares_url(resources, kind)
    admin, headers = people["admin"]
    alice, _ = people["alice"]
    assert admin.post(url, json={"username": "bob", "permission": "write"}, headers=headers).status_code == 201
    assert [s["username"] for s in alice.get(url).json()["items"]] == ["bob"]
    assert admin.delete(f"{url}/bob", headers=headers).status_code == 204


def test_a_dataset_share_lets_the_holder_build_a_project_on_it_but_a_project_share_does_not(app, people, resources):
    alice, headers = people["alice"]
    alice.post(_shares_url(resources, "projects"), json={"username": "bob", "permission": "write"}, headers=headers)
    assert_problem(create(people, "bob", name="mine", dataset_id=resources["datasets"]), 404, "dataset_not_found")
    alice.post(_shares_url(resources, "datasets"), json={"username": "bob", "permission": "read"}, headers=headers)
    assert create(people, "bob", name="mine", dataset_id=resources["datasets"]).status_code == 201


def test_share_list_is_paged(app, people, resources, client):
    admin, admin_headers = people["admin"]
    for i in range(3):
        admin.post("/api/v1/users", json={"username": f"u{i}", "password": "user-password"}, headers=admin_headers)
    alice, headers = people["alice"]
    url = _shares_url(resources, "projects")
    for name in ("u2", "bob", "u0", "u1"):
        assert alice.post(url, json={"username": name, "permission": "read"}, headers=headers).status_code == 201
    first, second = alice.get(f"{url}?limit=2").json(), alice.get(f"{url}?limit=2&offset=2").json()
    assert first["total"] == 4
    assert [s["username"] for s in first["items"] + second["items"]] == ["u2", "bob", "u0", "u1"]  # order shared
