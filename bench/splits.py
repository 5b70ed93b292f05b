"""The one train/val(/test) split every training peer uses, and the folder trees the peers read it from.

The split is classmill's own (`classmill.data.split`, stratified, seeded by content hash): the
classmill run makes the same one from the same settings, and the runner checks afterwards that
it did. The reference loop and Ultralytics read it as an ImageFolder tree (train/<class>/,
val/<class>/, and test/<class>/ when a test part is held out) of symbolic links into the shared
datasets, made in the benchmark's temp folder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import classmill.data


@dataclass(frozen=True)
class SplitTree:
    dataset: Path  # the folder classmill trains on
    tree: Path  # train/<class>/ and val/<class>/ links to the same files
    classes: list[str]
    train: list[tuple[Path, str]]
    val: list[tuple[Path, str]]
    test: list[tuple[Path, str]] = field(default_factory=list)  # empty unless a test part was held out

    def to_dict(self) -> dict:
        return {"dataset": str(self.dataset), "tree": str(self.tree), "classes": self.classes,
                "train_images": len(self.train), "val_images": len(self.val), "test_images": len(self.test)}

    def keys(self, part: str) -> set[str]:
        return {str(Path(p).resolve()) for p, _ in getattr(self, part)}


def make_split_tree(dataset: Path, tree: Path, *, val: float, seed: int, test: float = 0.0) -> SplitTree:
    result = classmill.data.split(dataset, val=val, test=test, seed=seed)
    parts: dict[str, list[tuple[Path, str]]] = {"train": [], "val": [], "test": []}
    for record in result.dataset.records:
        parts[record.split].append((Path(record.path), record.label))
    for split, items in parts.items():
        if not items:  # no empty test/ folder: ImageFolder refuses one
            continue
        for label in result.dataset.classes:
            (tree / split / label).mkdir(parents=True, exist_ok=True)
        for path, label in items:
            link = tree / split / label / path.name
            if not link.exists():
                link.symlink_to(path.resolve())
    return SplitTree(dataset, tree, list(result.dataset.classes), parts["train"], parts["val"], parts["test"])


def run_split_records(run_dir: Path, part: str) -> list:
    """The ImageRecords a classmill run put in one part ("train", "val", "test"), from its split manifest."""
    import json

    from classmill.data import Dataset

    # The manifest stores paths relative to the dataset root; the library resolves them.
    manifest = json.loads((run_dir / "split" / "manifest.json").read_text())
    return Dataset.from_manifest(manifest).in_split(part)


def run_split_keys(run_dir: Path, part: str) -> set[str]:
    return {str(Path(r.path).resolve()) for r in run_split_records(run_dir, part)}


def make_tiny_dataset(source: Path, out: Path, *, per_class: int, px: int) -> Path:
    """A few real files per class, shrunk to px x px: a classmill dataset that trains in seconds."""
    from PIL import Image

    for class_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(p for p in class_dir.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:per_class]
        (out / class_dir.name).mkdir(parents=True, exist_ok=True)
        for path in files:
            target = out / class_dir.name / f"{path.stem}.jpg"
            if not target.exists():
                with Image.open(path) as img:
                    img.convert("RGB").resize((px, px)).save(target, quality=90)
    return out
