"""Form input checked by the API's own request models, and errors turned into what a page shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Form
from pydantic import BaseModel, ValidationError

from classmill.errors import UserError
from classmill.server.errors import Invalid, ServiceError

Body = TypeVar("Body", bound=BaseModel)
# A form field; absent counts as empty, so the service (not a generic 422) says what is missing.
FormText = Annotated[str, Form()]


@dataclass(frozen=True)
class PageError:
    """What went wrong and what to do, in the words of the service that refused."""

    detail: str
    fix: str = ""
    code: str | None = None  # the service's error code: error_texts translates the common ones
    original: str = ""  # the service's English sentence, kept beneath a translation


def form_body(model: type[Body], **fields) -> Body:
    """The API's request body built from form fields: a form is held to exactly the API's limits."""
    try:
        return model(**fields)
    except ValidationError as exc:
        parts = [f"the field “{'.'.join(str(p) for p in err['loc'])}”: {err['msg'].lower()}" for err in exc.errors()]
        raise Invalid("; ".join(parts) + ".", "Correct the field and send the form again.",
                      code="invalid_form") from None


def page_error(exc: UserError) -> PageError:
    if isinstance(exc, ServiceError):
        return PageError(_sentence(exc.detail), exc.fix, exc.code)
    return PageError(_sentence(str(exc)))  # library rules (e.g. password length) say what and how in one text


def error_status(exc: UserError) -> int:
    return exc.status if isinstance(exc, ServiceError) else 400


def _sentence(text: str) -> str:
    # Services word their details to follow "error: "; on a page they stand alone.
    return text[:1].upper() + text[1:]
