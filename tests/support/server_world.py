"""Two members (alice, bob) logged in on their own clients, plus direct database and store access."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from classmill.server.db.datasets import Dataset, DatasetVersion
from classmill.server.db.projects import Share
from classmill.server.db.session import writing
from classmill.server.state import STATE_ATTRIBUTE
from classmill.server.store.layout import StoreLayout
from support.server_accounts import log_in, set_up_admin
from support.server_datasets import make_dataset, user_named


@dataclass
class World:
    alice: TestClient
    bob: TestClient
    db: Session
    store: StoreLayout

    def dataset(self, owner: str, name: str, images: list[tuple[str, str | None, str]], classes=None,
                seed: int = 0) -> tuple[Dataset, DatasetVersion, list[str]]:
        return make_dataset(self.db, self.store, user_named(self.db, owner), name, images, classes, seed)

    def share(self, dataset_id: int, username: str, permission: str) -> None:
        with writing(self.db):
            self.db.add(Share(resource_kind="dataset", resource_id=dataset_id,
                              user_id=user_named(self.db, username).id, permission=permission))


def make_world(client: TestClient, new_client, app, settings) -> World:
    admin_csrf = set_up_admin(client)
    clients = {}
    for name in ("alice", "bob"):
        created = client.post("/api/v1/users", json={"username": name, "password": f"{name}-password"},
                              headers={"X-CSRF-Token": admin_csrf})
        assert created.status_code == 201, created.text
        member = new_client()
        member.headers["X-CSRF-Token"] = log_in(member, name, f"{name}-password")
        clients[name] = member
    db = getattr(app.state, STATE_ATTRIBUTE).sessions()
    return World(clients["alice"], clients["bob"], db, StoreLayout(settings.workspace))
