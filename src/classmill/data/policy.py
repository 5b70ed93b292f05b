"""The platform's dataset rules as one object; every default is the platform's published limit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

from classmill.data.readers.zip_safety import ArchiveLimits
from classmill.image import DEFAULT_MAX_PIXELS

TRAINING_FORMATS = frozenset({"jpg", "jpeg", "png", "bmp"})
TESTING_FORMATS = TRAINING_FORMATS | {"tif", "tiff"}

# Pillow's format name for each accepted extension: used to catch files whose content is not
# what their extension claims.
EXTENSION_FORMATS = {
    "jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "bmp": "BMP", "tif": "TIFF", "tiff": "TIFF",
}


@dataclass(frozen=True)
class DatasetPolicy:
    formats: frozenset[str] = field(default=TRAINING_FORMATS)
    max_file_bytes: int = 4 * 1024 * 1024
    max_aspect_ratio: float = 3.0
    max_side: int = 4096  # longest side must be < max_side
    min_side: int = 30  # shortest side must be > min_side
    max_pixels: int = DEFAULT_MAX_PIXELS  # refused from the header, never decoded
    min_classes: int = 2
    max_classes: int = 1000
    min_images_per_class: int = 20
    recommended_images_per_class: int = 100
    max_class_share: float = 0.70  # a class above this share of all images is an imbalance warning
    # An archive must not be able to fill the disk: the one set of zip limits, shared with predict/serve.
    archive: ArchiveLimits = ArchiveLimits()
    deep: bool = False  # decode every pixel instead of trusting headers + end markers

    @classmethod
    def for_testing_images(cls, **overrides) -> "DatasetPolicy":
        """Rules for images sent to a trained model: TIFF accepted, no per-class minimums."""
        return cls(formats=TESTING_FORMATS, min_classes=1, min_images_per_class=1,
                   recommended_images_per_class=1, max_class_share=1.0, **overrides)

    def with_overrides(self, **overrides) -> "DatasetPolicy":
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **clean)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["formats"] = sorted(self.formats)
        return d
