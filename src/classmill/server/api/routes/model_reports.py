"""Behind a model version's report: threshold what-ifs, the images of a confusion cell or of the mistakes,
and two versions compared. All read-only: reading the version (its project) is enough.

Included before the models router: /models/compare must match before /models/{version_id}.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from classmill.server.api.deps import CurrentUser, SessionDep, StateDep
from classmill.server.api.model_report_schemas import ComparisonOut, ModelImageOut, ThresholdPreviewOut
from classmill.server.api.numbers import DbId
from classmill.server.api.paging import Page, PageDep
from classmill.server.api.training_schemas import ThresholdsIn
from classmill.server.services import model_compare, model_images, threshold_preview

router = APIRouter(tags=["models"])
_NOT_FOUND = {404: {"description": "no such model version, one you cannot see, or no predictions on that split"}}
Split = Literal["val", "test"]
ClassName = Annotated[str, Query(max_length=100)]
MAX_COMPARE_LIST = 500


@router.get("/models/compare", summary="Two versions side by side: metrics with deltas (b - a), the options that "
            "differ, and the images whose verdict changed", responses=_NOT_FOUND)
def compare(a: DbId, b: DbId, user: CurrentUser, session: SessionDep, state: StateDep, split: Split = "val",
            limit: Annotated[int, Query(ge=0, le=MAX_COMPARE_LIST, description="images listed per verdict")] = 100,
            ) -> ComparisonOut:
    return ComparisonOut.of(model_compare.compare_versions(session, user, a, b, split, limit,
                                                           state.settings.workspace))


@router.get("/models/{version_id}/thresholds/preview", responses=_NOT_FOUND,
            summary="What-if for one class's threshold (the others stay deployed): precision, recall, coverage and "
                    "uncertain count per class, and each class at its suggested threshold")
def preview_one(version_id: DbId, class_name: Annotated[str, Query(alias="class", max_length=100)],
                threshold: Annotated[float, Query(ge=0, le=1)], user: CurrentUser, session: SessionDep,
                state: StateDep, split: Split = "val") -> ThresholdPreviewOut:
    return ThresholdPreviewOut.of(threshold_preview.preview_thresholds(
        session, user, version_id, split, {class_name: threshold}, state.settings.workspace))


@router.post("/models/{version_id}/thresholds/preview", responses=_NOT_FOUND,
             summary="What-if for several thresholds at once (classes left out keep their deployed one); "
                     "changes nothing")
def preview_many(version_id: DbId, body: ThresholdsIn, user: CurrentUser, session: SessionDep, state: StateDep,
                 split: Split = "val") -> ThresholdPreviewOut:
    return ThresholdPreviewOut.of(threshold_preview.preview_thresholds(
        session, user, version_id, split, body.thresholds, state.settings.workspace))


@router.get("/models/{version_id}/confusion", responses=_NOT_FOUND,
            summary="The images of one confusion-matrix cell (true class, predicted class), most confident first")
def confusion(version_id: DbId, true: ClassName, predicted: ClassName, user: CurrentUser, session: SessionDep,
              state: StateDep, page: PageDep, split: Split = "val") -> Page[ModelImageOut]:
    found = model_images.confusion_images(session, user, version_id, split, true, predicted, page,
                                          state.settings.workspace)
    return Page(items=[ModelImageOut.of(i) for i in found.rows], total=found.total, limit=page.limit,
                offset=page.offset)


@router.get("/models/{version_id}/misclassified", responses=_NOT_FOUND,
            summary="The images answered wrongly (of one true class with ?class=), most confident mistakes first")
def misclassified(version_id: DbId, user: CurrentUser, session: SessionDep, state: StateDep, page: PageDep,
                  split: Split = "val",
                  class_name: Annotated[str | None, Query(alias="class", max_length=100)] = None,
                  ) -> Page[ModelImageOut]:
    found = model_images.misclassified_images(session, user, version_id, split, class_name, page,
                                              state.settings.workspace)
    return Page(items=[ModelImageOut.of(i) for i in found.rows], total=found.total, limit=page.limit,
                offset=page.offset)
