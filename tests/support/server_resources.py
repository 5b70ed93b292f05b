"""Helpers for project and sharing tests: logged-in members, datasets made through the ORM, projects."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from classmill.server.db.datasets import Dataset
from classmill.server.db.models import User
from classmill.server.state import STATE_ATTRIBUTE
from support.server_accounts import log_in, set_up_admin


@pytest.fixture
def people(app, client, new_client):
    """admin (the `client`), members alice and bob logged in, each with a CSRF header ready."""
    csrf = set_up_admin(client)
    clients = {"admin": (client, {"X-CSRF-Token": csrf})}
    for name in ("alice", "bob"):
        made = client.post("/api/v1/users", json={"username": name, "password": f"{name}-password"},
                           headers={"X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
        c = new_client()
        clients[name] = (c, {"X-CSRF-Token": log_in(c, name, f"{name}-password")})
    return clients


def make_dataset(app, owner: str, name: str) -> int:
    """A dataset row straight through the ORM (the dataset routes are not this module's business)."""
    with getattr(app.state, STATE_ATTRIBUTE).sessions() as session:
        owner_id = session.scalar(select(User.id).where(User.username == owner))
        dataset = Dataset(owner_id=owner_id, name=name, status="empty")
        session.add(dataset)
        session.commit()
        return dataset.id


def create(people, who: str, **body):
    c, headers = people[who]
    return c.post("/api/v1/projects", json=body, headers=headers)
