"""The one train/val split every training peer uses, and the folder trees the peers read it from.

The split is classmill's own (`classmill.data.split`, stratified, seeded by content hash): the
classmill run makes the same one from the same settings, and the runner checks afterwards that
it did. The reference loop and Ultralytics read it as an ImageFolder tree (train/<class>/,
val/<class>/) of symbolic links into the shared datasets, made in the benchmark's temp folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import classmill.data


@dataclass(frozen=True)
class SplitTree:
    dataset: Path  # the folder classmill trains on
    tree: Path  # train/<class>/ and val/<class>/ links to the same files
    classes: list[str]
    train: list[tuple[Path, str]]
    val: list[tuple[Path, str]]

    def to_dict(self) -> dict:
        return {"dataset": str(self.dataset), "tree": str(self.tree), "classes": self.classes,
                "train_images": len(self.train), "val_images": len(self.val)}

    def val_keys(self) -> set[str]:
        return {str(Path(p).resolve()) for p, _ in self.val}


def make_split_tree(dataset: Path, tree: Path, *, val: float, seed: int) -> SplitTree:
    result = classmill.data.split(dataset, val=val, test=0.0, seed=seed)
    parts: dict[str, list[tuple[Path, str]]] = {"train": [], "val": []}
    for record in result.dataset.records:
        parts[record.split].append((Path(record.path), record.label))
    for split, items in parts.items():
        for label in result.dataset.classes:
            (tree / split / label).mkdir(parents=True, exist_ok=True)
        for path, label in items:
            link = tree / split / label / path.name
            if not link.exists():
                link.symlink_to(path.resolve())
    return SplitTree(dataset, tree, list(result.dataset.classes), parts["train"], parts["val"])


def run_val_keys(run_dir: Path) -> set[str]:
    """The validation images a classmill run actually used, from its split manifest."""
    import json

    from classmill.data import Dataset

    # The manifest stores paths relative to the dataset root; the library resolves them.
    manifest = json.loads((run_dir / "split" / "manifest.json").read_text())
    return {str(Path(r.path).resolve()) for r in Dataset.from_manifest(manifest).in_split("val")}


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
