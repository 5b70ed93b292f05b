"""One-time messages after a form's redirect ("Token revoked"), carried by a short-lived cookie.

The cookie holds a message key and its values, never text: the text comes from MESSAGES, translated
into the language of the page that shows it. An unknown key or missing value shows nothing.
A new dataset version's message carries an Undo button (restore its parent), built from its values.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from fastapi import Request, Response

FLASH_COOKIE = "classmill_flash"
_MAX_COOKIE_CHARS = 1024


def N_(message: str) -> str:
    """Marks a message for the catalog (pybabel extracts N_); it is translated when shown."""
    return message


MESSAGES = {
    "token_revoked": N_("Token “%(name)s” was revoked. Programs that use it can no longer call the API."),
    "user_created": N_("User “%(name)s” was created. Give them their password in person or another safe way."),
    "user_disabled": N_("User “%(name)s” was disabled: their logins ended and their tokens stopped working."),
    "user_enabled": N_("User “%(name)s” can log in again."),
    "dataset_created": N_("Dataset “%(name)s” was created. Next, import its images."),
    "version_made": N_("Version %(number)s was made from version %(parent)s: %(summary)s."),
    "version_undone": N_("Undone: version %(number)s has the images, labels and splits of version %(source)s "
                         "again. Version %(undone)s stays in the list of versions."),
    "project_created": N_("Project “%(name)s” was created."),
    "logged_out": N_("You have logged out."),
    "password_changed": N_("Your password was changed and all your logins ended. Log in with the new password."),
    "endpoint_published": N_("Endpoint “%(name)s” is published. Call it with an API token as in the example below."),
    "endpoint_unpublished": N_("Endpoint “%(name)s” was unpublished: its URL answers 404 now. The model version stays."),
    "project_shared_read": N_("The project is shared with “%(name)s”: they can see it and its models."),
    "project_shared_write": N_("The project is shared with “%(name)s”: they can see it, train and change it."),
    "project_share_revoked": N_("“%(name)s” no longer has access to the project."),
    "server_import_started": N_("Importing %(path)s from the server's disk. This page updates when it ends."),
    "task_created": N_("Task “%(name)s” was created and queued. Its progress shows below as it trains."),
}


UNDO_BACK = ("gallery", "dataset")  # where an undo goes afterwards: the new version's gallery or the dataset page


@dataclass(frozen=True)
class Undo:
    """Undoing version `number` of dataset `dataset`: restore its parent `parent`, then show `back`."""

    dataset: int
    number: int
    parent: int
    back: str


@dataclass(frozen=True)
class Flash:
    text: str
    undo: Undo | None = None


def flash(response: Response, key: str, **values: str) -> None:
    if key not in MESSAGES:
        raise KeyError(f"no flash message {key!r}")
    data = base64.urlsafe_b64encode(json.dumps({"key": key, "values": values}).encode()).decode()
    response.set_cookie(FLASH_COOKIE, data[:_MAX_COOKIE_CHARS], max_age=60, httponly=True, samesite="lax", path="/")


def flash_new_version(response: Response, dataset_id: int, number: int, parent: int, summary: str, *,
                      back: str) -> None:
    """"Version `number` was made from `parent`", with an Undo button that returns to `back` (UNDO_BACK)."""
    flash(response, "version_made", dataset=str(dataset_id), number=str(number), parent=str(parent),
          summary=summary[:200], back=back)  # take_flash shows 200 characters; the cookie must not be cut


def take_flash(request: Request, translate) -> Flash | None:
    """The pending message in the page's language, or None; the caller clears the cookie (clear_flash)."""
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(raw.encode()))
        values = {str(k): str(v)[:200] for k, v in dict(data["values"]).items()}
        return Flash(translate(MESSAGES[data["key"]]) % values, _undo(data["key"], values))
    except (ValueError, KeyError, TypeError):  # not ours, or cut short: show nothing
        return None


def _undo(key: str, values: dict[str, str]) -> Undo | None:
    if key != "version_made" or values.get("back") not in UNDO_BACK:
        return None
    try:
        return Undo(int(values["dataset"]), int(values["number"]), int(values["parent"]), values["back"])
    except (KeyError, ValueError):  # a message from before undo existed: no button
        return None


def clear_flash(response: Response) -> None:
    response.delete_cookie(FLASH_COOKIE, path="/")
