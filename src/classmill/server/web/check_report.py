"""A version's stored check report shaped for its page: the class table, and problems grouped by rule and fix,
each file with the hash of its thumbnail when the version holds it (a refused file was never stored).

The rule's title and fix come in the page's language (check_rule_texts); the per-file messages stay the library's
English, since they carry the file's own numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy.orm import Session

from classmill.server.db.datasets import DatasetVersion
from classmill.server.db.models import User
from classmill.server.services import gallery
from classmill.server.web.check_rule_texts import rule_fix, rule_title

FILES_SHOWN = 24  # files drawn per problem; the rest are counted (and filterable in the gallery)


@dataclass(frozen=True)
class ProblemFile:
    name: str
    message: str
    content_hash: str | None  # None: the file is not in the version (the check refused it)


@dataclass
class ProblemGroup:
    rule: str  # the code, still shown: the gallery filters by it
    title: str  # the rule in words, in the page's language
    severity: str  # "error" or "warning"
    fix: str  # in the page's language
    files: list[ProblemFile] = field(default_factory=list)
    count: int = 0
    messages: list[str] = field(default_factory=list)  # dataset-wide problems name no file
    in_version: bool = False  # some file of it is in the version, so the gallery can filter by its rule


@dataclass(frozen=True)
class ReportView:
    summary: str
    ok: bool
    classes: list[dict]
    groups: list[ProblemGroup]
    inherited_from: int | None  # the version whose import made this report, when an edit carried it over
    files_checked: int
    counts: dict | None  # the summary's numbers, for wording it in the page's language; None in an older report


def report_view(session: Session, user: User, dataset_id: int, version: DatasetVersion,
                gettext: Callable[[str], str]) -> ReportView | None:
    """gettext: the page's language's, for the rules' titles and fixes."""
    report = version.check_report or {}
    if not report.get("classes") and not report.get("errors") and not report.get("warnings"):
        return None
    problems = [*report.get("errors", []), *report.get("warnings", []), *report.get("split_problems", [])]
    # Grouped by the fix as shown: in Chinese the per-class fixes of one rule read the same, so they make one group.
    groups: dict[tuple[str, str], ProblemGroup] = {}
    for problem in problems:
        rule = str(problem.get("rule", ""))
        key = (rule, rule_fix(rule, str(problem.get("fix", "")), gettext))
        group = groups.setdefault(key, ProblemGroup(rule, rule_title(rule, gettext),
                                                    str(problem.get("severity", "warning")), key[1]))
        group.count += 1
        if problem.get("file") and len(group.files) < FILES_SHOWN:
            name, message = str(problem["file"]), str(problem.get("message", ""))
            # the library's messages start with the file's name, which the page shows already
            group.files.append(ProblemFile(name, message.removeprefix(f"{name}: "), None))
        elif not problem.get("file") and len(group.messages) < FILES_SHOWN:
            group.messages.append(str(problem.get("message", "")))
    names = [f.name for g in groups.values() for f in g.files]
    hashes = gallery.hashes_by_name(session, user, dataset_id, version.number, names) if names else {}
    for group in groups.values():
        group.files = [ProblemFile(f.name, f.message, hashes.get(f.name)) for f in group.files]
        group.in_version = any(f.content_hash for f in group.files)
    ordered = sorted(groups.values(), key=lambda g: (g.severity != "error", g.rule))
    return ReportView(summary=str(report.get("summary", "")), ok=bool(report.get("ok", not report.get("errors"))),
                      classes=list(report.get("classes", [])), groups=ordered,
                      inherited_from=report.get("inherited_from_version"),
                      files_checked=int(report.get("files_checked", 0)), counts=_summary_counts(report))


def _summary_counts(report: dict) -> dict | None:
    """The numbers of the library's English summary line (data/report.py), from the stored report."""
    if not all(key in report for key in ("usable_images", "files_checked", "ignored_files", "seconds", "classes")):
        return None
    return {"errors": len(report.get("errors", [])), "warnings": len(report.get("warnings", [])),
            "images": report["usable_images"], "classes": len(report["classes"]), "files": report["files_checked"],
            "ignored": report["ignored_files"], "seconds": float(report["seconds"])}
