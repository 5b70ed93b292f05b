"""Stored images by hash: the file, its thumbnail and its details, for users who can read a version holding it.

A hash names immutable content, so the ETag is the hash and a revalidation costs no file read;
the answer is private (never kept by shared caches) and cached for an hour, so a revoked share
stops showing images within that time.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse

from classmill.server.api.deps import CurrentUser, SessionDep, StoreDep
from classmill.server.api.version_schemas import GalleryImageOut, ImageDetailOut
from classmill.server.services import gallery
from classmill.server.services.image_store import stored_path
from classmill.server.store.thumbnails import make_thumbnail, thumbnail_path

router = APIRouter(prefix="/images", tags=["images"])
CACHE_CONTROL = "private, max-age=3600"
_MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "BMP": "image/bmp", "TIFF": "image/tiff",
                "WEBP": "image/webp", "GIF": "image/gif"}


def image_url(content_hash: str) -> str:
    return f"/api/v1/images/{content_hash}"


def gallery_item(image: gallery.GalleryImage) -> GalleryImageOut:
    return GalleryImageOut(hash=image.content_hash, label=image.label, split=image.split,
                           original_name=image.original_name, problems=image.problems, width=image.width,
                           height=image.height, thumbnail_url=f"{image_url(image.content_hash)}/thumbnail",
                           image_url=image_url(image.content_hash))


def _cached_file(request: Request, path: Path, etag: str, media_type: str) -> Response:
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return FileResponse(path, media_type=media_type, headers=headers)


@router.get("/{content_hash}", summary="The stored image file", response_class=FileResponse,
            responses={304: {"description": "not modified (If-None-Match)"}})
def get_image(content_hash: str, request: Request, user: CurrentUser, session: SessionDep,
              store: StoreDep) -> Response:
    image = gallery.readable_image(session, user, content_hash)  # 404 before any file is touched
    return _cached_file(request, stored_path(store, image.content_hash), f'"{image.content_hash}"',
                        _MEDIA_TYPES.get(image.format, "application/octet-stream"))


@router.get("/{content_hash}/thumbnail", summary="A JPEG of at most 256 px a side", response_class=FileResponse,
            responses={304: {"description": "not modified (If-None-Match)"}})
def get_thumbnail(content_hash: str, request: Request, user: CurrentUser, session: SessionDep,
                  store: StoreDep) -> Response:
    image = gallery.readable_image(session, user, content_hash)
    path = thumbnail_path(store.thumbnails, image.content_hash)
    if not path.exists():  # made at import; remade here if the thumbnails folder was cleared
        make_thumbnail(stored_path(store, image.content_hash), path)
    return _cached_file(request, path, f'"{image.content_hash}-thumbnail"', "image/jpeg")


@router.get("/{content_hash}/details", summary="Size, format, and the versions (you can read) holding it")
def get_details(content_hash: str, user: CurrentUser, session: SessionDep) -> ImageDetailOut:
    found = gallery.image_detail(session, user, content_hash)
    image = found.image
    return ImageDetailOut(hash=image.content_hash, size_bytes=image.size_bytes, format=image.format,
                          width=image.width, height=image.height,
                          thumbnail_url=f"{image_url(image.content_hash)}/thumbnail",
                          image_url=image_url(image.content_hash), versions=found.versions)
