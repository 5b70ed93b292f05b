"""The dataset check's rules in the page's language: a title and a fix per rule code (the library words them in English).

The check report stores each problem's `rule` code with the library's English `message` and `fix`. Pages show the
rule as a title from this table and the fix in the page's language; the message stays as the library wrote it, since
it names the file and the measured value (3024x3024 px, 5.1 MB) that a general sentence here cannot.

English pages keep the library's own fix: it is written for the one file or class (`Rename it to .png`, `Add at
least 3 more images of 'cat'`), where the table's fix can only be general. The exceptions are in _TABLE_FIX_ALWAYS.
A rule missing here (one the library gains later) shows its code and the library's fix;
tests/server/web/test_web_check_rule_texts.py fails until it has its entry.
"""

from __future__ import annotations

from typing import Callable

from classmill.server.web.flash import N_

RULE_TEXTS: dict[str, tuple[str, str]] = {
    # a file that is not a usable image (data/probe.py, data/check.py)
    "unsupported_format": (N_("File type not accepted"),
                           N_("Convert it to JPEG or PNG, or remove it from the class folder.")),
    "unreadable": (N_("File cannot be read"), N_("Check the file's permissions, or copy it again.")),
    "empty_file": (N_("Empty file"), N_("The file is empty (0 bytes): copy it again from the original or delete it.")),
    "not_an_image": (N_("Not an image"),
                     N_("This is not an image despite its name: delete it, or export the real image as JPEG or PNG.")),
    "corrupt": (N_("Damaged image"), N_("The image data is damaged: re-export it from the original or delete it.")),
    "truncated": (N_("Image file cut off"),
                  N_("The file was cut off (an incomplete download or copy): copy it again from the original.")),
    "decompression_bomb": (N_("Far too many pixels"),
                           N_("The image has far too many pixels to decode safely: resize it below 4096 px per side.")),
    "too_many_pixels": (N_("Too many pixels"),
                        N_("Decoding it would take too much memory: resize it below 4096 px per side.")),
    "undecodable": (N_("Cannot be decoded"), N_("Re-export the image from the original as JPEG or PNG.")),
    # a readable image that breaks a size rule
    "extension_mismatch": (N_("Extension does not match the content"),
                           N_("Rename it to the extension of the format the message names; it is read by its "
                              "content, so it still works.")),
    "file_too_large": (N_("File too large"), N_("Re-save it with more JPEG compression or at a smaller size.")),
    "image_too_large": (N_("Image too large"),
                        N_("Resize it so the longest side is below the limit the message names.")),
    "image_too_small": (N_("Image too small"),
                        N_("Use a larger image; tiny images carry too little detail to learn from.")),
    "aspect_ratio": (N_("Too long and narrow"), N_("Crop it to the object of interest so it is closer to square.")),
    # the same image more than once
    "conflicting_labels": (N_("Same image under different classes"),
                           N_("Decide which class is right and delete the other copies.")),
    "duplicate": (N_("Duplicate image"), N_("Delete the copy: duplicates make the class look bigger than it is.")),
    "duplicate_across_splits": (N_("Same image in several splits"),
                                N_("Keep one copy: an image in both train and val makes validation accuracy look "
                                   "better than it is.")),
    # the classes
    "bad_label_name": (N_("Class name cannot be used"),
                       N_("Rename the class: no leading or trailing spaces, line breaks, control characters or "
                          "slashes.")),
    "too_few_classes": (N_("Too few classes"),
                        N_("Put each class's images in its own folder (images/<class>/*.jpg), with at least two "
                           "classes.")),
    "too_many_classes": (N_("Too many classes"),
                         N_("Merge rare classes, or check that the folder given is the dataset's root.")),
    "too_few_images": (N_("Too few images in a class"),
                       N_("Add images of the class until it has the number the message names, or remove the class.")),
    "few_images": (N_("Few images in a class"), N_("Add more images of the class for a more reliable model.")),
    "class_imbalance": (N_("One class holds most images"),
                        N_("Add images of the other classes, or train with the class_balance option (weights or "
                           "sampler).")),
    "class_too_small_to_split": (N_("Class too small to split"),
                                 N_("Add images of the class so that train, val and test each get at least one.")),
    # the folder's, zip's or list's layout (data/readers)
    "not_in_class_folder": (N_("File outside the class folders"),
                            N_("Move it into the folder named after its class, or delete it.")),
    "nested_folder": (N_("Folder inside a class folder"),
                      N_("Move the images up into the class folder, or make the sub-folder a class of its own at the "
                         "top level: class folders hold images directly.")),
    "broken_symlink": (N_("Link to a missing file"), N_("Replace the link with the image itself, or delete it.")),
    "path_outside_root": (N_("Path outside the dataset"),
                          N_("Keep every image inside the dataset's folder: write list paths relative to the list "
                             "file's folder, and copy images in rather than linking to them.")),
    "unsafe_archive_entry": (N_("Unsafe entry in the zip"),
                             N_("Re-create the zip from the folder itself, so every entry is a plain relative "
                                "path.")),
    "duplicate_archive_entry": (N_("File stored twice in the zip"),
                                N_("Re-create the zip so every file is stored once.")),
    "conflicting_archive_entry": (N_("Name stored twice with different content"),
                                  N_("Keep one version of the file and re-create the zip.")),
    "bad_labels_file": (N_("labels.txt cannot be read"),
                        N_("Write one class name per line; the line number is the class id.")),
    "bad_list_line": (N_("Line of a list file not understood"),
                      N_("Fix the line: an image path, a space, and the integer class id.")),
    "unknown_label_id": (N_("Class id not in labels.txt"),
                         N_("Use an id from labels.txt (its 0-based line number), or add the class there.")),
    "missing_file": (N_("Listed file does not exist"),
                     N_("Fix the path (relative to the list file's folder), or remove the line.")),
    "bad_csv_row": (N_("CSV row not understood"),
                    N_("Give every row an image path and a class; quote paths that contain commas.")),
    "bad_split_name": (N_("Unknown split name"),
                       N_("Use train, val or test, or leave the column empty to let classmill split.")),
}

# Rules whose library fix names a command-line flag (--class-balance, --data-root) that the web pages have no
# use for: these show the table's fix on English pages too.
_TABLE_FIX_ALWAYS = frozenset({"class_imbalance", "path_outside_root"})


def rule_title(rule: str, gettext: Callable[[str], str]) -> str:
    """The rule's title in the page's language; its code when the table has no entry."""
    texts = RULE_TEXTS.get(rule)
    return gettext(texts[0]) if texts else rule


def rule_fix(rule: str, library_fix: str, gettext: Callable[[str], str]) -> str:
    """The fix to show for a problem of `rule` whose library fix is `library_fix`, in the page's language."""
    texts = RULE_TEXTS.get(rule)
    if texts is None:
        return library_fix
    fix = gettext(texts[1])
    if fix == texts[1] and library_fix and rule not in _TABLE_FIX_ALWAYS:
        return library_fix  # an English page (or an untranslated text): the library's words fit the one file
    return fix
