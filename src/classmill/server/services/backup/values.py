"""Column values as JSON, the same from and into SQLite and PostgreSQL.

Each column gets a kind from its SQLAlchemy type when the backup is made; the kind travels in the
manifest, so a restore decodes values without the models of the classmill that made the backup
(it may be restoring an older schema) and binds them with a neutral type of that kind.
"""

from __future__ import annotations

import base64
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Float, Integer, LargeBinary, Numeric,
                        String, Text, Uuid)
from sqlalchemy.types import TypeDecorator, TypeEngine

# Checked in this order: Float is a Numeric, Enum a String.
_KIND_OF_TYPE: tuple[tuple[type, str], ...] = (
    (JSON, "json"), (Boolean, "bool"), (Integer, "int"), (Float, "float"), (Numeric, "decimal"),
    (DateTime, "datetime"), (Date, "date"), (LargeBinary, "bytes"), (Uuid, "uuid"), (String, "str"),
)

# What a restore binds each kind with; JSON None goes in as SQL NULL (a JSON null reads back as None too).
BIND_TYPES: dict[str, TypeEngine] = {
    "json": JSON(none_as_null=True), "bool": Boolean(), "int": BigInteger(), "float": Float(),
    "decimal": Numeric(), "datetime": DateTime(timezone=True), "date": Date(), "bytes": LargeBinary(),
    "uuid": Uuid(), "str": Text(),
}


def column_kind(column: Column) -> str:
    """The kind of a model column; ValueError for a type a backup cannot carry (add it here)."""
    type_ = column.type
    while isinstance(type_, TypeDecorator):
        type_ = type_.impl_instance
    for cls, kind in _KIND_OF_TYPE:
        if isinstance(type_, cls):
            return kind
    raise ValueError(f"column {column.table.name}.{column.name} has type {type_!r}, which the backup cannot "
                     "store yet; add it to classmill.server.services.backup.values")


def encode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind in ("datetime", "date"):
        return value.isoformat()
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind in ("decimal", "uuid"):
        return str(value)
    return value


def decode(kind: str, value: Any) -> Any:
    if value is None:
        return None
    if kind == "datetime":
        return datetime.fromisoformat(value)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "bytes":
        return base64.b64decode(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "uuid":
        return uuid.UUID(value)
    return value


def bind_type(kind: str) -> TypeEngine:
    try:
        return BIND_TYPES[kind]
    except KeyError:
        raise ValueError(f"unknown column kind {kind!r}") from None
