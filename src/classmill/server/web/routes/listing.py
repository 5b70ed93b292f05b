"""Lists on pages: ?page=N in, one PageRequest to the service, and the pager the template draws."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Query

from classmill.server.api.numbers import DB_INT_MAX
from classmill.server.services.paging import PageOf, PageRequest

PAGE_SIZE = 50

PageNumber = Annotated[int, Query(ge=1, le=DB_INT_MAX // PAGE_SIZE)]


def page_request(number: int) -> PageRequest:
    return PageRequest(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)


@dataclass(frozen=True)
class Pager:
    number: int
    total: int  # rows in the whole list
    pages: int

    @classmethod
    def of(cls, found: PageOf, number: int) -> "Pager":
        return cls(number, found.total, max(1, -(-found.total // PAGE_SIZE)))
