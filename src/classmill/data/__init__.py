"""The dataset layer: read any supported form, check it against the platform rules, split it.

    report = classmill.data.check("images/")          # DatasetReport: class table + every problem
    dataset = classmill.data.load("images.zip")        # Dataset: usable images only
    result = classmill.data.split("images/", val=0.2, test=0.1, seed=0, out="splits/")
"""

from __future__ import annotations

from pathlib import Path

from classmill.data.check import inspect
from classmill.data.dataset import Dataset
from classmill.data.policy import DatasetPolicy
from classmill.data.records import ERROR, WARNING, ImageRecord, Problem
from classmill.data.report import DatasetReport
from classmill.data.split import SplitResult, assign_splits, previous_assignments_for, write_split
from classmill.errors import DatasetError
from classmill.progress import ProgressCallback

__all__ = [
    "Dataset", "DatasetPolicy", "DatasetReport", "ImageRecord", "Problem", "SplitResult",
    "ERROR", "WARNING", "check", "load", "split", "errors_message",
]


def check(source: str | Path, policy: DatasetPolicy | None = None, *, extract_dir: Path | None = None,
          root: str | Path | None = None, progress: ProgressCallback | None = None) -> DatasetReport:
    """Check a dataset against `policy` (default: the platform rules) and report every problem.

    root: the folder a CSV's or PaddleClas list's images must lie in (default: the list's own folder).
    progress: called with classmill.progress events ("extract", "check").
    """
    return inspect(source, policy, extract_dir=extract_dir, root=Path(root) if root else None, progress=progress)


def errors_message(report: DatasetReport, limit: int = 10) -> str:
    lines = [f"{report.dataset.source}: the dataset fails validation with {len(report.errors)} error(s):"]
    lines += [f"  - [{p.rule}] {p.message} -> {p.fix}" for p in report.errors[:limit]]
    if len(report.errors) > limit:
        lines.append(f"  ... and {len(report.errors) - limit} more")
    lines.append(f"Run `classmill data check {report.dataset.source}` for the full report.")
    return "\n".join(lines)


def load(source: str | Path, policy: DatasetPolicy | None = None, *, strict: bool = False,
         extract_dir: Path | None = None, root: str | Path | None = None,
         progress: ProgressCallback | None = None) -> Dataset:
    """Load the usable images of a dataset. strict=True raises DatasetError if any rule fails."""
    report = check(source, policy, extract_dir=extract_dir, root=root, progress=progress)
    if strict and not report.ok:
        raise DatasetError(errors_message(report))
    return report.dataset


def split(source: str | Path | Dataset, val: float = 0.2, test: float = 0.1, seed: int = 0,
          out: str | Path | None = None, policy: DatasetPolicy | None = None, *, force: bool = False,
          root: str | Path | None = None, progress: ProgressCallback | None = None) -> SplitResult:
    """Stratified, seeded, stable split; with `out`, writes PaddleClas lists and keeps earlier assignments there.

    Splitting into an `out` made with other val/test/seed raises ConfigError unless force=True,
    which re-splits from scratch.
    """
    out_dir = Path(out) if out is not None else None
    # Before loading: a refused re-split should not first spend minutes checking every image.
    previous = previous_assignments_for(out_dir, val, test, seed, force=force) if out_dir else {}
    dataset = source if isinstance(source, Dataset) else load(source, policy, root=root, progress=progress)
    result = assign_splits(dataset, val, test, seed, previous)
    if out_dir is not None:
        write_split(result, out_dir, val=val, test=test, seed=seed)
    return result
