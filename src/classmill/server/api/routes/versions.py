"""Versions of a dataset: list, read, edit (each edit answers the new version), compare, export, delete, browse."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.responses import FileResponse

from classmill.server.api.deps import CurrentUser, SessionDep, StoreDep
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.api.routes.images import gallery_item
from classmill.server.api.version_schemas import (
    ClassAdd, ClassDelete, ClassRename, DiffOut, GalleryImageOut, ImagesAdd, ImagesEdit, MergeRequest, RestoreRequest,
    SplitRequest, VersionOut,
)
from classmill.server.services import gallery, version_edits, versions
from classmill.server.services.version_export import export_version
from classmill.server.api.temp_file_response import TempFileResponse


router = APIRouter(prefix="/datasets/{dataset_id}/versions", tags=["dataset versions"])
_EDIT = {"status_code": status.HTTP_201_CREATED,
         "responses": {403: {"description": "shared read-only"}, 422: {"description": "bad or empty edit"}}}


@router.get("", summary="Versions of a dataset, newest first (paged)")
def list_versions(dataset_id: DbId, user: CurrentUser, session: SessionDep, page: PageDep) -> Page[VersionOut]:
    found = versions.list_versions(session, user, dataset_id, page)
    return Page(items=[VersionOut.model_validate(v) for v in found.rows], total=found.total,
                limit=page.limit, offset=page.offset)


@router.get("/{number}", summary="One version: classes, counts, check report, split settings, history")
def get_version(dataset_id: DbId, number: DbId, user: CurrentUser, session: SessionDep) -> VersionOut:
    return VersionOut.model_validate(versions.get_version(session, user, dataset_id, number)[1])


@router.delete("/{number}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Delete a version (refused while in use); files no other version holds go with it",
               responses={409: {"description": "the version is in use"}})
def delete_version(dataset_id: DbId, number: DbId, user: CurrentUser, session: SessionDep, store: StoreDep) -> Response:
    versions.delete_version(session, user, dataset_id, number, store)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{number}/images/edit", summary="Delete, relabel and/or move images to a split (into new classes too): a new version", **_EDIT)
def edit_images(dataset_id: DbId, number: DbId, body: ImagesEdit, user: CurrentUser, session: SessionDep) -> VersionOut:
    made = version_edits.change_images(session, user, dataset_id, number, delete=body.delete,
                                       relabel=[(r.hashes, r.label) for r in body.relabel],
                                       move=[(m.hashes, m.split) for m in body.move], new_classes=body.new_classes)
    return VersionOut.model_validate(made)


@router.post("/{number}/images/add", summary="Add images stored in a version you can read into a class", **_EDIT)
def add_images(dataset_id: DbId, number: DbId, body: ImagesAdd, user: CurrentUser, session: SessionDep) -> VersionOut:
    made = version_edits.add_images(session, user, dataset_id, number, source_dataset_id=body.source_dataset_id,
                                    source_number=body.source_version, hashes=body.hashes, label=body.label)
    return VersionOut.model_validate(made)


@router.post("/{number}/classes", summary="Add an (empty) class: a new version", **_EDIT)
def add_class(dataset_id: DbId, number: DbId, body: ClassAdd, user: CurrentUser, session: SessionDep) -> VersionOut:
    return VersionOut.model_validate(version_edits.add_class(session, user, dataset_id, number, body.name))


@router.post("/{number}/classes/rename", summary="Rename a class and relabel its images: a new version", **_EDIT)
def rename_class(dataset_id: DbId, number: DbId, body: ClassRename, user: CurrentUser,
                 session: SessionDep) -> VersionOut:
    made = version_edits.rename_class(session, user, dataset_id, number, body.name, body.new_name)
    return VersionOut.model_validate(made)


@router.post("/{number}/classes/delete", summary="Delete a class (409 while it has images, unless delete_images)",
             **_EDIT)
def delete_class(dataset_id: DbId, number: DbId, body: ClassDelete, user: CurrentUser,
                 session: SessionDep) -> VersionOut:
    made = version_edits.delete_class(session, user, dataset_id, number, body.name, delete_images=body.delete_images)
    return VersionOut.model_validate(made)


@router.post("/{number}/split", summary="Split train/val/test (stratified, seeded, stable): a new version", **_EDIT)
def apply_split(dataset_id: DbId, number: DbId, body: SplitRequest, user: CurrentUser,
                session: SessionDep) -> VersionOut:
    made = version_edits.apply_split(session, user, dataset_id, number, val=body.val, test=body.test, seed=body.seed)
    return VersionOut.model_validate(made)


@router.post("/{number}/merge", summary="Merge in another version you can read: a new version", **_EDIT)
def merge(dataset_id: DbId, number: DbId, body: MergeRequest, user: CurrentUser, session: SessionDep) -> VersionOut:
    made = version_edits.merge_version(session, user, dataset_id, number, source_dataset_id=body.source_dataset_id,
                                       source_number=body.source_version)
    return VersionOut.model_validate(made)


@router.post("/{number}/restore", summary="Restore an earlier version's images, labels, splits and classes "
             "(an undo): a new version", **_EDIT)
def restore(dataset_id: DbId, number: DbId, body: RestoreRequest, user: CurrentUser, session: SessionDep) -> VersionOut:
    made = version_edits.restore_version(session, user, dataset_id, number, from_number=body.from_version)
    return VersionOut.model_validate(made)


@router.get("/{number}/diff", summary="What changed from version ?from to this one")
def diff(dataset_id: DbId, number: DbId, user: CurrentUser, session: SessionDep,
         from_version: Annotated[DbId, Query(alias="from")]) -> DiffOut:
    found = versions.diff_versions(session, user, dataset_id, from_version, number)
    return DiffOut(**found.__dict__)


@router.get("/{number}/export", summary="The version as a zip: class folders, labels.txt, PaddleClas split lists",
            response_class=FileResponse)
def export(dataset_id: DbId, number: DbId, user: CurrentUser, session: SessionDep, store: StoreDep) -> FileResponse:
    path, filename = export_version(session, user, dataset_id, number, store)
    return TempFileResponse(path, media_type="application/zip", filename=filename)


@router.get("/{number}/classes", summary="Images per class and split")
def class_counts(dataset_id: DbId, number: DbId, user: CurrentUser, session: SessionDep) -> dict[str, dict[str, int]]:
    return gallery.class_counts(session, user, dataset_id, number)


@router.get("/{number}/images", summary="The version's images, filtered, ordered by original name (paged)")
def gallery_page(dataset_id: DbId, number: DbId, user: CurrentUser, session: SessionDep, page: PageDep,
                 label: Annotated[str | None, Query(max_length=200)] = None,
                 split: Annotated[str | None, Query(description="train, val, test or unsplit")] = None,
                 problem: Annotated[str | None, Query(max_length=64, description="a check rule")] = None,
                 search: Annotated[str | None, Query(max_length=200, description="part of the file name")] = None,
                 ) -> Page[GalleryImageOut]:
    found = gallery.gallery_page(session, user, dataset_id, number,
                                 gallery.GalleryFilter(label, split, problem, search), page)
    return Page(items=[gallery_item(i) for i in found.rows], total=found.total, limit=page.limit, offset=page.offset)
