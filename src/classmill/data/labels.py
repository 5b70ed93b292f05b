"""The one rule for class names, whichever reader found them (folder, CSV, PaddleClas labels.txt).

A label becomes a line of labels.txt (in the split, the run and the bundle), a folder name
(`predict --sort`), a column of reports and a string in the service's answers. A name that is
fine on disk can break each of those: `scratch ` (trailing space) trains and then fails at export;
U+2028 or U+0085 inside a name splits one line of labels.txt into two; a slash makes a folder path.
Letters of any script, spaces inside and punctuation are all fine.
"""

from __future__ import annotations

import unicodedata

MAX_LABEL_LENGTH = 100

# Unicode categories that never belong in a name: they are invisible, end lines, or are not text.
_FORBIDDEN_CATEGORIES = {
    "Cc": "a control character",
    "Cf": "an invisible formatting character",
    "Cs": "an undecodable byte",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
}


def label_name_problem(name: str) -> str | None:
    """What is wrong with `name` as a class name (completes "label 'x' ..."), or None if it is fine."""
    if not name:
        return "is empty"
    for ch in name:
        what = _FORBIDDEN_CATEGORIES.get(unicodedata.category(ch))
        if what:
            return f"contains {what} (U+{ord(ch):04X})"
    if name != name.strip():
        return "starts or ends with whitespace"
    if "/" in name or "\\" in name:
        return "contains a slash; a label is also a folder name"
    if name in (".", ".."):
        return "is '.' or '..', which cannot be a folder name"
    if len(name) > MAX_LABEL_LENGTH:
        return f"is {len(name)} characters long; at most {MAX_LABEL_LENGTH} are allowed"
    return None


def suggested_label(name: str) -> str:
    """`name` with what the rule forbids removed (a suggestion for the fix; may still be empty)."""
    kept = "".join(ch for ch in name if unicodedata.category(ch) not in _FORBIDDEN_CATEGORIES)
    return kept.replace("/", "-").replace("\\", "-").strip().strip(".")[:MAX_LABEL_LENGTH].strip()
