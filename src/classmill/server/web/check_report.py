"""A version's stored check report shaped for its page: the class table, and problems grouped by rule and fix,
each file with the hash of its thumbnail when the version holds it (a refused file was never stored)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from classmill.server.db.datasets import DatasetVersion
from classmill.server.db.models import User
from classmill.server.services import gallery

FILES_SHOWN = 24  # files drawn per problem; the rest are counted (and filterable in the gallery)


@dataclass(frozen=True)
class ProblemFile:
    name: str
    message: str
    content_hash: str | None  # None: the file is not in the version (the check refused it)


@dataclass
class ProblemGroup:
    rule: str
    severity: str  # "error" or "warning"
    fix: str
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


def report_view(session: Session, user: User, dataset_id: int, version: DatasetVersion) -> ReportView | None:
    report = version.check_report or {}
    if not report.get("classes") and not report.get("errors") and not report.get("warnings"):
        return None
    problems = [*report.get("errors", []), *report.get("warnings", []), *report.get("split_problems", [])]
    groups: dict[tuple[str, str], ProblemGroup] = {}
    for problem in problems:
        key = (str(problem.get("rule", "")), str(problem.get("fix", "")))
        group = groups.setdefault(key, ProblemGroup(key[0], str(problem.get("severity", "warning")), key[1]))
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
                      files_checked=int(report.get("files_checked", 0)))
