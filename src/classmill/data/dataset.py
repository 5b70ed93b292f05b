"""A loaded dataset: usable images with labels, hashes and sizes, and its manifest form."""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from classmill import atomic
from classmill.data.records import SPLITS, ImageRecord


@dataclass
class Dataset:
    source: str
    kind: str
    classes: list[str]
    records: list[ImageRecord]
    ignored: list[str] = field(default_factory=list)

    @property
    def has_split(self) -> bool:
        return any(r.split for r in self.records)

    def counts(self, split: str | None = None) -> dict[str, int]:
        c = Counter(r.label for r in self.records if split is None or r.split == split)
        return {label: c.get(label, 0) for label in self.classes}

    def in_split(self, split: str) -> list[ImageRecord]:
        return [r for r in self.records if r.split == split]

    def label_index(self) -> dict[str, int]:
        return {label: i for i, label in enumerate(self.classes)}

    @property
    def dataset_hash(self) -> str:
        """Identifies the content: same images, labels and splits -> same hash, wherever they live."""
        h = hashlib.sha256()
        for r in sorted(self.records, key=lambda r: (r.content_hash, r.label, r.split or "")):
            h.update(f"{r.content_hash}\t{r.label}\t{r.split or ''}\n".encode())
        return h.hexdigest()[:16]

    def to_manifest(self) -> dict:
        return {
            "source": self.source,
            "kind": self.kind,
            "classes": self.classes,
            "dataset_hash": self.dataset_hash,
            "counts": {s: self.counts(s) for s in SPLITS} if self.has_split else {"all": self.counts()},
            "records": [r.to_dict() for r in self.records],
        }

    def write_manifest(self, path: Path) -> None:
        atomic.write_json(path, self.to_manifest())

    @classmethod
    def from_manifest(cls, manifest: dict, data_location: str | Path | None = None) -> "Dataset":
        """The dataset a split manifest describes, its paths resolved against the recorded dataset
        root (or `data_location`, where the dataset is now if it moved). See classmill.data.manifest."""
        from classmill.data.manifest import load_manifest

        return load_manifest(manifest, data_location)
