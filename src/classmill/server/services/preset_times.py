"""Each training preset's time as the benchmark measured it on this machine (bench/report.py writes the file).

Read when the new-task page is drawn, so a new benchmark run shows without a restart. A missing or
malformed file, or a preset it does not name, gives no figure: the page then shows no time rather
than a guess.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from classmill.server.settings import Settings

FILE_NAME = "preset_times.json"
_MAX_BYTES = 64 * 1024  # the file is a few hundred bytes; anything far bigger is not ours


@dataclass(frozen=True)
class PresetTime:
    seconds: float  # the whole training process, start to exit
    train_images: int  # the images it trained on
    image_size: int | None
    measured: str  # when the benchmark ran (its own wording)


def preset_times_file(settings: Settings) -> Path:
    return settings.preset_times or settings.workspace / FILE_NAME


def read_preset_times(path: Path) -> dict[str, PresetTime]:
    """{preset: its measured time}; {} when the file is absent or unreadable."""
    try:
        if path.stat().st_size > _MAX_BYTES:
            return {}
        data = json.loads(path.read_text(encoding="utf-8"))
        found = {}
        for preset, entry in dict(data.get("presets", {})).items():
            seconds, images = float(entry["seconds"]), int(entry["train_images"])
            if math.isfinite(seconds) and seconds > 0 and images > 0:
                size = entry.get("image_size")
                found[str(preset)] = PresetTime(seconds, images, int(size) if size else None,
                                                str(data.get("measured", ""))[:40])
        return found
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return {}
