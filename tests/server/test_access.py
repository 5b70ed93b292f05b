"""services.access decides every ownership question: owner, admin, read share, write share, no share.

Tested on the service directly (both databases, via the `settings` fixture), with rows made by the ORM.
A resource a user may not see must be indistinguishable from one that does not exist.
"""

from __future__ import annotations

from typing import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from classmill.server.db.datasets import Dataset
from classmill.server.db.models import Role, User
from classmill.server.db.projects import Project, Share
from classmill.server.db.session import make_engine, session_factory
from classmill.server.errors import Forbidden, NotFound
from classmill.server.services.access import get_accessible, visible

MODELS = (Dataset, Project)


@pytest.fixture
def session(settings) -> Iterator[Session]:
    engine = make_engine(settings.database_url)
    with session_factory(engine)() as s:
        yield s
    engine.dispose()


@pytest.fixture
def world(session) -> dict:
    """Users owner, reader, writer, stranger, admin; each owner-made dataset and project shared alike."""
    users = {name: User(username=name, password_hash="x", role=Role.admin.value if name == "admin" else "member")
             for name in ("owner", "reader", "writer", "stranger", "admin")}
    session.add_all(users.values())
    session.flush()
    mine = Dataset(owner_id=users["owner"].id, name="mine", status="empty")
    theirs = Dataset(owner_id=users["stranger"].id, name="theirs", status="empty")
    session.add_all([mine, theirs])
    session.flush()
    project = Project(owner_id=users["owner"].id, name="p", dataset_id=mine.id)
    other_project = Project(owner_id=users["stranger"].id, name="q", dataset_id=theirs.id)
    session.add_all([project, other_project])
    session.flush()
    for kind, row in (("dataset", mine), ("project", project)):
        session.add(Share(resource_kind=kind, resource_id=row.id, user_id=users["reader"].id, permission="read"))
        session.add(Share(resource_kind=kind, resource_id=row.id, user_id=users["writer"].id, permission="write"))
    session.commit()
    return {**users, Dataset: mine, Project: project, "other": {Dataset: theirs, Project: other_project}}


def _error(session, user, model, resource_id, write=False):
    with pytest.raises((NotFound, Forbidden)) as caught:
        get_accessible(session, user, model, resource_id, write=write)
    return caught.value


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("who", ["owner", "writer", "admin"])
def test_owner_writer_and_admin_may_read_and_write(session, world, model, who):
    resource = world[model]
    for write in (False, True):
        assert get_accessible(session, world[who], model, resource.id, write=write) is resource


@pytest.mark.parametrize("model", MODELS)
def test_a_read_share_reads_but_asked_to_write_is_403(session, world, model):
    resource = world[model]
    assert get_accessible(session, world["reader"], model, resource.id) is resource
    error = _error(session, world["reader"], model, resource.id, write=True)
    assert isinstance(error, Forbidden) and error.status == 403 and error.code == "read_only_share"
    assert str(resource.id) in error.detail and error.fix


@pytest.mark.parametrize("model", MODELS)
def test_no_share_is_404_identical_to_an_id_that_does_not_exist(session, world, model):
    resource = world[model]
    missing_id = 1 + max(session.scalars(select(model.id)))
    for write in (False, True):
        hidden = _error(session, world["stranger"], model, resource.id, write=write)
        # A missing id with the same digits count would differ only by the id: compare with the id swapped.
        absent = _error(session, world["stranger"], model, missing_id, write=write)
        assert isinstance(hidden, NotFound) and isinstance(absent, NotFound)
        assert (hidden.status, hidden.code, hidden.fix) == (absent.status, absent.code, absent.fix)
        assert hidden.detail == absent.detail.replace(str(missing_id), str(resource.id))
        assert hidden.code == f"{model.__tablename__[:-1]}_not_found"


@pytest.mark.parametrize("model", MODELS)
def test_a_share_of_one_kind_gives_nothing_of_the_other_kind_with_the_same_id(session, world, model):
    """Shares are keyed by (kind, id): a dataset share must not open the project that has the same id."""
    other_model = Project if model is Dataset else Dataset
    target = world["other"][other_model]  # the stranger's, id equal to some id the reader holds a share of
    session.add(Share(resource_kind=model.__tablename__[:-1], resource_id=target.id,
                      user_id=world["reader"].id, permission="write"))
    session.commit()
    assert isinstance(_error(session, world["reader"], other_model, target.id), NotFound)


@pytest.mark.parametrize("model", MODELS)
def test_a_share_given_to_someone_else_opens_nothing_for_me(session, world, model):
    """The share row must match the user asking, not merely exist."""
    error = _error(session, world["stranger"], model, world[model].id)
    assert isinstance(error, NotFound)


@pytest.mark.parametrize("model", MODELS)
def test_visible_lists_exactly_owned_and_shared_rows_and_everything_for_an_admin(session, world, model):
    def names(user):
        return sorted(session.scalars(visible(select(model.name), user, model)))

    mine, theirs = world[model].name, world["other"][model].name
    assert names(world["owner"]) == [mine]
    assert names(world["reader"]) == [mine]
    assert names(world["writer"]) == [mine]
    assert names(world["stranger"]) == [theirs]
    assert names(world["admin"]) == sorted([mine, theirs])
    nobody = User(username="nobody", password_hash="x")
    session.add(nobody)
    session.commit()
    assert names(nobody) == []


def test_visible_keeps_the_callers_own_conditions(session, world):
    query = select(Dataset.name).where(Dataset.name == "theirs")
    assert list(session.scalars(visible(query, world["reader"], Dataset))) == []
    assert list(session.scalars(visible(query, world["stranger"], Dataset))) == ["theirs"]


def test_a_share_of_the_other_kind_does_not_make_rows_visible(session, world):
    """The reader's project share has the same id as the stranger's dataset? Never visible as a dataset."""
    theirs = world["other"][Dataset]
    session.add(Share(resource_kind="project", resource_id=theirs.id, user_id=world["reader"].id, permission="read"))
    session.commit()
    assert theirs.name not in list(session.scalars(visible(select(Dataset.name), world["reader"], Dataset)))


@pytest.mark.parametrize("model", MODELS)
def test_an_admin_still_gets_404_for_an_id_that_does_not_exist(session, world, model):
    missing_id = 1 + max(session.scalars(select(model.id)))
    error = _error(session, world["admin"], model, missing_id, write=True)
    assert isinstance(error, NotFound) and error.status == 404


@pytest.mark.parametrize("model", MODELS)
def test_a_share_opens_only_the_resource_it_names(session, world, model):
    """The writer holds a write share of the owner's resource, and nothing of the stranger's."""
    theirs = world["other"][model]
    for write in (False, True):
        assert isinstance(_error(session, world["writer"], model, theirs.id, write=write), NotFound)


@pytest.mark.parametrize("model", MODELS)
def test_a_read_share_upgraded_to_write_writes_and_a_revoked_share_is_404(session, world, model):
    resource, reader = world[model], world["reader"]
    share = session.scalar(select(Share).where(Share.user_id == reader.id, Share.resource_id == resource.id,
                                               Share.resource_kind == model.__tablename__[:-1]))
    share.permission = "write"
    session.commit()
    assert get_accessible(session, reader, model, resource.id, write=True) is resource
    session.delete(share)
    session.commit()
    assert isinstance(_error(session, reader, model, resource.id), NotFound)
    assert resource.id not in list(session.scalars(visible(select(model.id), reader, model)))
