"""The dataset check report: a class table and every problem with its fix, for people and machines."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from classmill.data.dataset import Dataset
from classmill.data.policy import DatasetPolicy
from classmill.data.records import ERROR, WARNING, Problem


@dataclass
class DatasetReport:
    dataset: Dataset
    problems: list[Problem] = field(default_factory=list)
    policy: DatasetPolicy = field(default_factory=DatasetPolicy)
    files_checked: int = 0
    seconds: float = 0.0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == WARNING]

    @property
    def ok(self) -> bool:
        return not self.errors

    def problems_for(self, ref: str) -> list[Problem]:
        return [p for p in self.problems if p.file == ref]

    def class_rows(self) -> list[dict]:
        counts = self.dataset.counts()
        total = sum(counts.values()) or 1
        by_label: dict[str, list[Problem]] = defaultdict(list)
        for p in self.problems:
            if p.label:
                by_label[p.label].append(p)
        rows = []
        for label in self.dataset.classes:
            issues = by_label.get(label, [])
            status = "error" if any(p.severity == ERROR for p in issues) else "warning" if issues else "ok"
            row = {"label": label, "images": counts[label], "share": round(counts[label] / total, 4), "status": status}
            if self.dataset.has_split:
                row.update({s: self.dataset.counts(s)[label] for s in ("train", "val", "test")})
            rows.append(row)
        return rows

    def summary(self) -> str:
        d = self.dataset
        verdict = "OK" if self.ok else f"{len(self.errors)} error(s)"
        return (f"{verdict}, {len(self.warnings)} warning(s): {len(d.records)} usable images in {len(d.classes)} classes "
                f"({self.files_checked} files checked, {len(d.ignored)} system/hidden files ignored, "
                f"{self.seconds:.2f} s)")

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "source": self.dataset.source,
            "kind": self.dataset.kind,
            "dataset_hash": self.dataset.dataset_hash,
            "summary": self.summary(),
            "files_checked": self.files_checked,
            "usable_images": len(self.dataset.records),
            "ignored_files": len(self.dataset.ignored),
            "ignored": self.dataset.ignored,
            "seconds": round(self.seconds, 3),
            "classes": self.class_rows(),
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
            "policy": self.policy.to_dict(),
        }
