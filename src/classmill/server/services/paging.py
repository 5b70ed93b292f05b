"""One page of a query, in a stable order, with the total count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

Row = TypeVar("Row")


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int


@dataclass(frozen=True)
class PageOf(Generic[Row]):
    rows: list[Row]
    total: int
    request: PageRequest


def fetch_page(session: Session, query: Select, page: PageRequest) -> PageOf:
    """`query` must already be ordered by a unique key, so pages never overlap or skip rows."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.scalars(query.limit(page.limit).offset(page.offset)))
    return PageOf(rows, total, page)
