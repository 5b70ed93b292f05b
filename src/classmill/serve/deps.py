"""The prediction routes' dependencies. The standalone service reads them from app.state; a host
that mounts the routes for other models overrides `get_predictor` (e.g. one chosen by a path
parameter; `predictor.with_thresholds(...)` serves a model version with its own thresholds without
rewriting its bundle) and sets app.state.classmill_serve to a ServeState."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from classmill.infer import Predictor
from classmill.serve.batcher import DynamicBatcher
from classmill.serve.decode_pool import DecodePool
from classmill.serve.settings import ServeSettings
from classmill.serve.state import STATE_ATTRIBUTE, ServeState


def get_state(request: Request) -> ServeState:
    return getattr(request.app.state, STATE_ATTRIBUTE)


def get_predictor(request: Request) -> Predictor:
    """The one bundle of the standalone service; override this to serve another model."""
    return request.app.state.predictor


StateDep = Annotated[ServeState, Depends(get_state)]
PredictorDep = Annotated[Predictor, Depends(get_predictor)]


def get_settings(state: StateDep) -> ServeSettings:
    return state.settings


def get_batcher(predictor: PredictorDep, state: StateDep) -> DynamicBatcher:
    return state.batcher_for(predictor)


def get_decode_pool(state: StateDep) -> DecodePool:
    return state.decode_pool


SettingsDep = Annotated[ServeSettings, Depends(get_settings)]
BatcherDep = Annotated[DynamicBatcher, Depends(get_batcher)]
DecodePoolDep = Annotated[DecodePool, Depends(get_decode_pool)]
