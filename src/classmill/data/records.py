"""The one representation every reader produces and every later step consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

ERROR = "error"
WARNING = "warning"
SPLITS = ("train", "val", "test")


@dataclass
class ImageRecord:
    """One labelled image. `path` is where it is read from; `ref` is how the user knows it
    (relative to the dataset they handed over, or the entry name inside their zip)."""

    path: Path
    ref: str
    label: str
    split: str | None = None
    content_hash: str = ""
    width: int = 0
    height: int = 0
    format: str = ""
    mode: str = ""
    size_bytes: int = 0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["path"] = str(self.path)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ImageRecord":
        return cls(**{**d, "path": Path(d["path"])})


@dataclass(frozen=True)
class Problem:
    """A rule a file (or the whole dataset) breaks, with a plain-language fix."""

    rule: str
    severity: str
    message: str
    fix: str
    file: str | None = None  # the user's reference (ImageRecord.ref), None for dataset-wide rules
    label: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass
class Candidate:
    """A file a reader found and wants checked: not yet opened."""

    path: Path
    ref: str
    label: str
    split: str | None = None


@dataclass
class ReadResult:
    """What a reader hands to the checker: files to probe, problems it already saw, files it ignored."""

    source: str
    kind: str
    candidates: list[Candidate] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # Class names declared by the source even if they end up with no usable image
    # (a labels.txt, an empty class folder): they must show up in the report with count 0.
    declared_labels: list[str] = field(default_factory=list)
