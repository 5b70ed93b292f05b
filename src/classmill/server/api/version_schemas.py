"""Request and response bodies of the version and browsing routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from classmill.server.api.numbers import DbId

MAX_HASHES = 50_000  # images named by one edit; a version of 20,000 fits with room
Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$", description="content hash of a stored image")]
Label = Annotated[str, Field(max_length=200)]  # the library's label rule decides the rest


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    dataset_id: int
    number: int
    parent_id: int | None
    author_id: int
    created_at: datetime
    summary: str
    classes: list[str]
    image_count: int
    check_report: dict
    split_settings: dict | None


class Relabel(BaseModel):
    hashes: list[Hash] = Field(max_length=MAX_HASHES)
    label: Label


class Move(BaseModel):
    hashes: list[Hash] = Field(max_length=MAX_HASHES)
    split: Literal["train", "val", "test"] | None = Field(description="null takes the images out of every split")


class ImagesEdit(BaseModel):
    delete: list[Hash] = Field(default_factory=list, max_length=MAX_HASHES)
    relabel: list[Relabel] = Field(default_factory=list, max_length=1000)
    move: list[Move] = Field(default_factory=list, max_length=1000)
    new_classes: list[Label] = Field(default_factory=list, max_length=100,
                                     description="classes added by this edit, so images can be relabelled into them")


class ImagesAdd(BaseModel):
    source_dataset_id: DbId
    source_version: DbId
    hashes: list[Hash] = Field(max_length=MAX_HASHES)
    label: Label


class ClassAdd(BaseModel):
    name: Label


class ClassRename(BaseModel):
    name: Label
    new_name: Label


class ClassDelete(BaseModel):
    name: Label
    delete_images: bool = False


class SplitRequest(BaseModel):
    val: float = Field(0.2, ge=0, lt=1)
    test: float = Field(0.1, ge=0, lt=1)
    seed: int = Field(0, ge=0, le=2**31 - 1)


class MergeRequest(BaseModel):
    source_dataset_id: DbId
    source_version: DbId


class RestoreRequest(BaseModel):
    from_version: DbId = Field(description="the number of the version (of the same dataset) to restore")


class DiffOut(BaseModel):
    added: list[str]
    removed: list[str]
    relabelled: list[dict]
    moved: list[dict]
    counts: dict[str, int]
    class_counts: dict[str, dict[str, int]]


class GalleryImageOut(BaseModel):
    hash: str
    label: str
    split: str | None
    original_name: str
    problems: list
    width: int
    height: int
    thumbnail_url: str
    image_url: str


class ImageDetailOut(BaseModel):
    hash: str
    size_bytes: int
    format: str
    width: int
    height: int
    thumbnail_url: str
    image_url: str
    versions: list[dict]
