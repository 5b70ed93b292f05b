"""Paged lists, one shape for every list route: ?limit=&offset= in, {items, total, limit, offset} out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel

from classmill.server.api.numbers import DB_INT_MAX
from classmill.server.services.paging import PageRequest

MAX_PAGE_SIZE = 200

Item = TypeVar("Item")


class Page(BaseModel, Generic[Item]):
    items: list[Item]
    total: int
    limit: int
    offset: int


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="items per page")] = 50,
    offset: Annotated[int, Query(ge=0, le=DB_INT_MAX, description="items to skip")] = 0,
) -> PageRequest:
    return PageRequest(limit=limit, offset=offset)


PageDep = Annotated[PageRequest, Depends(page_request)]
