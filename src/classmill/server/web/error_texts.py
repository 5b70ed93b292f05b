"""The services' refusals a page user meets most, in the page's language (services word them in English).

A service error's `code` picks a translated what-happened and what-to-do here; codes not listed keep
the service's English text. The service's own sentence still shows beneath a translation, since it
names the value that was refused (a class, a name, a count) and the table's words are general.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from classmill.server.web.flash import N_

_NAME = (N_("That name cannot be used."),
         N_("Use a shorter name without line breaks, slashes or other control characters."))
_TAKEN = (N_("That name is already taken."), N_("Choose another name."))
_UPLOAD = (N_("The upload was refused."), N_("Send a .zip of images, or the image files themselves, and try again."))

ERROR_TEXTS: dict[str, tuple[str, str]] = {
    "page_not_found": (N_("There is no page at this address."),
                       N_("Check the address, or start again from the start page.")),
    "method_not_allowed": (N_("This page does not take that kind of request."),
                           N_("Go back and use the page's own links and buttons.")),
    "invalid_name": _NAME,
    "invalid_label": _NAME,
    "invalid_token_name": _NAME,
    "invalid_username": (N_("That username cannot be used."),
                         N_("Use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.")),
    "invalid_endpoint_name": (N_("That endpoint name cannot be used: it is part of the URL."),
                              N_("Use lower-case letters, digits and '-'.")),
    "name_taken": _TAKEN,
    "dataset_name_taken": _TAKEN,
    "endpoint_name_taken": _TAKEN,
    "username_taken": (N_("That username is already taken."), N_("Choose another username.")),
    "class_exists": (N_("This version already has a class with that name."),
                     N_("Relabel the images into it instead, or choose another name.")),
    "nothing_to_restore": (N_("This version already has the images, labels, splits and classes of the one to "
                              "restore."),
                           N_("Restore a version that differs from it, or leave it as it is.")),
    "too_few_images": (N_("Some chosen classes have too few images to train on."),
                       N_("Add images to those classes (a new dataset version), or leave them out of the task.")),
    "too_few_classes": (N_("A task needs at least two classes with images."),
                        N_("Choose two or more classes, or add images to the dataset first.")),
    "invalid_option": (N_("A training option has a value that cannot be used."),
                       N_("Change that option to a value within its bounds.")),
    "invalid_credentials": (N_("The password (or username) is wrong."), N_("Check it and type it again.")),
    "not_a_zip": _UPLOAD,
    "unsafe_archive": (N_("The zip was refused: some entries point outside it or are links."),
                       N_("Re-create the zip from the image folder itself.")),
    "empty_upload": _UPLOAD,
    "truncated_upload": (N_("The upload ended early; nothing was stored."), N_("Send it again.")),
    "no_files": (N_("No files were sent."), N_("Choose or drop the image files, then send again.")),
    "path_not_allowed": (N_("That path is not under one of the server's import folders."),
                         N_("Give the full path of a dataset under one of the folders listed above.")),
    "path_not_found": (N_("Nothing exists at that path on the server."), N_("Check the path and try again.")),
    "no_import_roots": (N_("Importing from the server's disk is switched off."),
                        N_("An administrator sets CLASSMILL_IMPORT_ROOTS to the folders datasets may come from.")),
    "too_many_images": (N_("Too many images were sent at once."), N_("Send fewer images at a time.")),
    "bad_archive": (N_("The zip cannot be unpacked: it is damaged, or over the size or entry limits."),
                    N_("Re-create the zip from the image folder (for example images/<class>/*.jpg) with a standard "
                       "zip tool.")),
    "no_class_folders": (N_("The zip holds no class folders: no image is inside a folder named after its class."),
                         N_("Zip the dataset folder so the images sit in images/<class>/*.jpg, or add a CSV or "
                            "PaddleClas lists.")),
    "import_running": (N_("An import into this dataset is already under way."),
                       N_("Wait for it to finish, then import again.")),
    "job_not_active": (N_("It is not running, so there is nothing to pause or stop."),
                       N_("Resume it first if it is paused, stopped or interrupted.")),
    "job_not_resumable": (N_("Only a paused, stopped, interrupted or failed task can be resumed."),
                          N_("Wait for it to end, or start a new task.")),
    "task_not_finished": (N_("Only a finished task can be extended."),
                          N_("Resume it, or wait for it to finish, first.")),
}


def translated_error(error, gettext: Callable[[str], str]):
    """`error` (a forms.PageError) in the page's language where its code has a translation, else unchanged."""
    texts = ERROR_TEXTS.get(error.code or "")
    if texts is None:
        return error
    detail, fix = (gettext(text) for text in texts)
    if detail == texts[0]:  # English pages (or an untranslated text): the service's own, more specific words
        return error
    return replace(error, detail=detail, fix=fix, original=error.detail)


def translated_error_texts(gettext: Callable[[str], str]) -> dict[str, tuple[str, str]]:
    """Each code's translated what-happened and what-to-do, for the page scripts that meet the API's refusals
    (the zip import, the task's buttons); empty on English pages, where the API's own words are shown."""
    return {code: (gettext(detail), gettext(fix)) for code, (detail, fix) in ERROR_TEXTS.items()
            if gettext(detail) != detail}
