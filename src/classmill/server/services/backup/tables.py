"""Table rows out of one database and into another, as JSON lines, table by table, never all in memory.

Tables go in the metadata's dependency order (sorted_tables), so every foreign key points at rows
already inserted, except the ones that point at their own table (a version's parent) or at a
table further on (a cycle): those columns are inserted NULL and set once every table is in, so
the order of rows within a table never matters. They must be nullable; plan_tables says so if not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO, Callable, Iterable, Iterator

from sqlalchemy import Column, Connection, MetaData, Table, and_, bindparam, func, inspect, select, text
from sqlalchemy.schema import Table as SchemaTable

from classmill.server.services.backup.values import bind_type, column_kind, decode, encode

BATCH_ROWS = 1000


@dataclass
class TablePlan:
    """How one table travels: its columns with their kinds, its key, and the columns set last."""

    name: str
    columns: list[tuple[str, str]]  # (name, kind), in the order of every row's values
    primary_key: list[str]
    deferred: list[str] = field(default_factory=list)
    rows: int = 0

    def to_dict(self) -> dict:
        return {"name": self.name, "columns": [list(c) for c in self.columns], "primary_key": self.primary_key,
                "deferred": self.deferred, "rows": self.rows}

    @classmethod
    def from_dict(cls, data: dict) -> "TablePlan":
        return cls(name=str(data["name"]), columns=[(str(n), str(k)) for n, k in data["columns"]],
                   primary_key=[str(n) for n in data["primary_key"]], deferred=[str(n) for n in data["deferred"]],
                   rows=int(data["rows"]))

    def neutral_table(self) -> Table:
        """A Table of this plan's columns with neutral types, for the target database's statements."""
        return Table(self.name, MetaData(),
                     *[Column(name, bind_type(kind), primary_key=name in self.primary_key)
                       for name, kind in self.columns])


def plan_tables(metadata: MetaData) -> list[TablePlan]:
    """Every table of `metadata`, in insertion order; ValueError when a column cannot travel."""
    order = list(metadata.sorted_tables)
    position = {table.name: i for i, table in enumerate(order)}
    plans = []
    for i, table in enumerate(order):
        deferred = sorted({fk.parent.name for fk in table.foreign_keys if position[fk.column.table.name] >= i})
        for name in deferred:
            if not table.columns[name].nullable:
                raise ValueError(f"{table.name}.{name} points at its own or a later table and is NOT NULL: "
                                 "a restore could not insert its rows")
        if not table.primary_key.columns:
            raise ValueError(f"table {table.name} has no primary key: a restore could not set its deferred columns")
        plans.append(TablePlan(table.name, [(c.name, column_kind(c)) for c in table.columns],
                               [c.name for c in table.primary_key.columns], deferred))
    return plans


def count_rows(connection: Connection, table: SchemaTable) -> int:
    return connection.scalar(select(func.count()).select_from(table))


def dump_rows(connection: Connection, table: SchemaTable, plan: TablePlan, out: IO[str],
              advance: Callable[[int], None]) -> int:
    """Write each row of `table` as one JSON array (the plan's column order) to `out`; returns how many."""
    kinds = [kind for _, kind in plan.columns]
    columns = [table.columns[name] for name, _ in plan.columns]
    query = select(*columns).order_by(*table.primary_key.columns)
    count = 0
    # yield_per: a server-side cursor on PostgreSQL; rows arrive in batches, never the whole table.
    for partition in connection.execution_options(yield_per=BATCH_ROWS).execute(query).partitions():
        for row in partition:
            out.write(json.dumps([encode(k, v) for k, v in zip(kinds, row)], ensure_ascii=False,
                                 separators=(",", ":")))
            out.write("\n")
        count += len(partition)
        advance(len(partition))
    return count


def _decoded(plan: TablePlan, lines: Iterable[str]) -> Iterator[dict]:
    names = [name for name, _ in plan.columns]
    kinds = [kind for _, kind in plan.columns]
    for line in lines:
        values = json.loads(line)
        if not isinstance(values, list) or len(values) != len(names):
            raise ValueError(f"a row of table {plan.name} does not have its {len(names)} columns")
        yield {name: decode(kind, value) for name, kind, value in zip(names, kinds, values)}


def _batches(rows: Iterable[dict]) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_rows(connection: Connection, plan: TablePlan, lines: Iterable[str],
                advance: Callable[[int], None]) -> int:
    """Insert the rows of `lines` (deferred columns NULL for now); returns how many."""
    table = plan.neutral_table()
    count = 0
    for batch in _batches(_decoded(plan, lines)):
        for row in batch:
            for name in plan.deferred:
                row[name] = None
        connection.execute(table.insert(), batch)
        count += len(batch)
        advance(len(batch))
    return count


def set_deferred(connection: Connection, plan: TablePlan, lines: Iterable[str]) -> None:
    """Second pass over a table whose rows are all in (as are every other table's): its deferred columns."""
    table = plan.neutral_table()
    # b_ names: bound parameters may not share a name with a column the statement sets
    statement = (table.update()
                 .where(and_(*[table.columns[k] == bindparam(f"b_{k}") for k in plan.primary_key]))
                 .values({name: bindparam(f"b_{name}") for name in plan.deferred}))
    wanted = plan.primary_key + plan.deferred
    rows = ({f"b_{k}": row[k] for k in wanted} for row in _decoded(plan, lines)
            if any(row[name] is not None for name in plan.deferred))
    for batch in _batches(rows):
        connection.execute(statement, batch)


def reset_sequences(connection: Connection, plans: list[TablePlan]) -> None:
    """PostgreSQL: move each id sequence past the restored ids, so the next row gets a fresh one."""
    if connection.dialect.name != "postgresql":
        return  # SQLite gives a new row max(rowid) + 1 by itself
    quote = connection.dialect.identifier_preparer.quote
    for plan in plans:
        for name in plan.primary_key:
            if dict(plan.columns)[name] != "int":
                continue
            sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"),
                                         {"table": quote(plan.name), "column": name})
            if sequence:
                connection.execute(text(f"SELECT setval(CAST(:sequence AS regclass), (SELECT COALESCE(MAX({quote(name)}), 0) + 1 "
                                        f"FROM {quote(plan.name)}), false)"), {"sequence": sequence})


def first_table_with_rows(connection: Connection, names: Iterable[str]) -> str | None:
    """The first of `names` that exists in the database and holds a row (None: all empty or absent)."""
    existing = set(inspect(connection).get_table_names())
    quote = connection.dialect.identifier_preparer.quote
    for name in names:
        if name in existing and connection.scalar(text(f"SELECT 1 FROM {quote(name)} LIMIT 1")) is not None:
            return name
    return None
