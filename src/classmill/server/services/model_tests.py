"""Single-image tests of a model version (up to 10 images at once), and adding a tested image to a dataset.

A test answers per image: the top-5 labels with confidences, the uncertain flag of the version's
thresholds and a result picture; a file that cannot be used becomes an error entry naming it and
the others are still answered. Each tested image is kept a while (store/tested_images.py), so a
person can put it, with the predicted or a corrected label, into a new version of a dataset: how
test results feed the next training round.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session

from classmill.data.policy import DatasetPolicy
from classmill.data.records import ERROR
from classmill.image import TooManyPixelsError
from classmill.server.db.datasets import Dataset, DatasetVersion
from classmill.server.db.models import User
from classmill.server.db.projects import Project
from classmill.server.db.training import ModelVersion
from classmill.server.errors import Conflict, Invalid, NotFound
from classmill.server.jobs.model_predictor import TOP_K, answer_of, load_model_predictor
from classmill.server.services.access import get_accessible
from classmill.server.services.datasets import newest_version
from classmill.server.services.image_store import FORMAT_SUFFIX, ImageFile
from classmill.server.services.model_versions import bundle_path, get_model_version
from classmill.server.services.version_edits import add_new_image
from classmill.server.store.layout import StoreLayout
from classmill.server.store.tested_images import TestedImage, TestedImages

MAX_TEST_IMAGES = 10  # per request, as the seed platforms' verification page takes them
MAX_TEST_IMAGE_BYTES = DatasetPolicy.for_testing_images().max_file_bytes  # the platform's limit for a test image


@dataclass(frozen=True)
class SentImage:
    """One file of a test request: its bytes, or why they were refused while reading (code, message)."""

    name: str
    data: bytes | None
    refused: tuple[str, str] | None = None


@dataclass(frozen=True)
class ImageTestOutcome:
    name: str
    test: TestedImage | None  # None when the file could not be used
    error: tuple[str, str] | None = None  # (code, message naming the problem and the fix)


@dataclass(frozen=True)
class _Decoded:
    array: np.ndarray  # the model's input
    picture: Image.Image  # already shrunk to the result picture's size
    format: str  # Pillow's name of the file's real format


def classify_test_images(session: Session, user: User, version_id: int, sent: list[SentImage], workspace: Path,
                         area: TestedImages) -> list[ImageTestOutcome]:
    """Classify each sent image with the version's bundle; keep the usable ones with their result pictures."""
    from classmill.infer import render_result_image

    version = get_model_version(session, user, version_id)
    check_count(len(sent))
    predictor = load_model_predictor(bundle_path(workspace, version), version.thresholds)
    decoded = [_decode(predictor, image) for image in sent]
    arrays = [d.array for d in decoded if isinstance(d, _Decoded)]
    predictions = iter(predictor.to_predictions(predictor.predict_proba(np.stack(arrays)), TOP_K) if arrays else [])
    outcomes = []
    for image, result in zip(sent, decoded):
        if not isinstance(result, _Decoded):
            outcomes.append(ImageTestOutcome(image.name, None, result))
            continue
        prediction = next(predictions)
        picture = io.BytesIO()
        render_result_image(result.picture, prediction).save(picture, format="PNG")
        test = area.keep(image.data, FORMAT_SUFFIX.get(result.format, ".img"), image.name, version.id, user.id,
                         answer_of(prediction), picture.getvalue())
        outcomes.append(ImageTestOutcome(image.name, test))
    area.sweep_if_due()  # tests expire: the server sweeps at start, and here at most once an hour
    return outcomes


def check_count(count: int) -> None:
    if count == 0:
        raise Invalid("no image was sent.", "Send 1 to 10 images as multipart/form-data in the field 'files'.",
                      code="no_files")
    if count > MAX_TEST_IMAGES:
        raise Invalid(f"{count} images were sent; a test takes at most {MAX_TEST_IMAGES}.",
                      "Send at most 10 images per test, or zip them and start a batch test "
                      "(POST /api/v1/models/{id}/batch-tests).", code="too_many_images")


def _decode(predictor, image: SentImage) -> _Decoded | tuple[str, str]:
    from classmill.infer.batch import describe_decode_error
    from classmill.infer.render import shrink_for_result

    if image.refused is not None:
        return image.refused
    if not image.data:
        return "empty_file", "the file is empty (0 bytes); send the image file itself."
    try:
        rgb = predictor.decode(image.data, name=image.name)  # refused from its header when over the pixel limit
        with Image.open(io.BytesIO(image.data)) as header:
            fmt = header.format or ""
        return _Decoded(predictor.prepare(rgb), shrink_for_result(rgb), fmt)
    except Exception as exc:  # noqa: BLE001 - whatever the decoder says, it is this file's error entry
        code = "too_many_pixels" if isinstance(exc, TooManyPixelsError) else "unreadable_image"
        return code, describe_decode_error(exc)


def get_test(session: Session, user: User, version_id: int, test_id: str, area: TestedImages) -> TestedImage:
    """A test of the version made by `user` and not expired; 404 otherwise (another's test does not exist)."""
    return _version_and_test(session, user, version_id, test_id, area)[1]


def _version_and_test(session: Session, user: User, version_id: int, test_id: str,
                      area: TestedImages) -> tuple[ModelVersion, TestedImage]:
    version = get_model_version(session, user, version_id)
    test = area.get(test_id)
    if test is None or test.model_version_id != version.id or test.user_id != user.id:
        raise NotFound(f"model version {version_id} has no test {test_id!r} of yours (tests are kept "
                       f"{area.retention_s / 3600:g} hours).",
                       "Test the image again (POST /api/v1/models/{id}/test) and use the test_id it answers.",
                       code="test_not_found")
    return version, test


def result_picture(session: Session, user: User, version_id: int, test_id: str, area: TestedImages) -> Path:
    path = area.result_path(get_test(session, user, version_id, test_id, area))
    if path is None:
        raise NotFound(f"the result picture of test {test_id} has expired.", "Test the image again.",
                       code="test_not_found")
    return path


def add_tested_image(session: Session, layout: StoreLayout, user: User, version_id: int, test_id: str,
                     area: TestedImages, label: str, dataset_id: int | None = None,
                     split: str | None = None) -> DatasetVersion:
    """A new version of the dataset (default: the model's project's) with the tested image labelled `label`.

    The image is checked by the same rules as any dataset image (422 naming the rule and the fix).
    """
    version, test = _version_and_test(session, user, version_id, test_id, area)
    if dataset_id is None:
        dataset_id = session.get(Project, version.project_id).dataset_id
    get_accessible(session, user, Dataset, dataset_id, write=True)  # 404 / 403 before any file is touched
    latest = newest_version(session, dataset_id)
    if latest is None:
        raise Conflict(f"dataset {dataset_id} has no version to add the image to yet.",
                       "Import images into it first.", code="dataset_empty")
    layout.scratch.mkdir(parents=True, exist_ok=True)
    # A private copy: the tests area's sweep may delete the original before the version commits.
    folder = Path(tempfile.mkdtemp(prefix="tested-", dir=layout.scratch))
    try:
        image, problems = _checked_copy(area, test, folder)
        return add_new_image(session, layout, user, dataset_id, latest.number, image=image, label=label,
                             split=split, original_name=test.name, problems=problems)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _checked_copy(area: TestedImages, test: TestedImage, folder: Path) -> tuple[ImageFile, list[str]]:
    """Copy the tested image into folder and check it by the dataset rules; (the file to store, its warnings)."""
    import classmill.data

    source = area.image_path(test)
    if source is None:
        raise NotFound(f"test {test.id} has expired.", "Test the image again.", code="test_not_found")
    copy = folder / "image" / f"tested{test.suffix}"  # a class folder, as the library's folder reader wants
    copy.parent.mkdir()
    shutil.copyfile(source, copy)
    report = classmill.data.check(folder)
    mine = [p for p in report.problems if p.file]  # class-wide rules (20 images per class) are not this image's
    refused = [p for p in mine if p.severity == ERROR]
    if refused or not report.dataset.records:
        problem = refused[0] if refused else None
        reason = problem.message.split(": ", 1)[-1] if problem else "it is not a usable image"
        raise Invalid(f"{test.name!r} cannot join a dataset: {reason}.",
                      problem.fix if problem else "Use a JPEG or PNG image.",
                      code=problem.rule if problem else "unusable_image")
    record = report.dataset.records[0]
    image = ImageFile(record.path, record.content_hash, record.size_bytes, record.format, record.width, record.height)
    return image, [p.rule for p in mine]
