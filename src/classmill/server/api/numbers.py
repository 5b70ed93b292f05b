"""Numbers a request names (ids, version numbers, offsets): refused at the edge when no row can hold them.

PostgreSQL's integer columns end at 2**31 - 1 and SQLite cannot bind past 2**63 - 1; an unchecked
number past that is a database error (a 500), not the 404 or 422 the caller should get.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Interval

DB_INT_MAX = 2**31 - 1  # the integer columns of both databases hold this much

DbId = Annotated[int, Interval(ge=1, le=DB_INT_MAX)]  # a row id or a version number, in a path, query or body
