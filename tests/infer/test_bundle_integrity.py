"""read_bundle checks the model bytes against the checksums export recorded in metadata.json."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from classmill.infer import BundleError, read_bundle
from classmill.infer.bundle import METADATA_FILE, MODEL_FILE


def _rewrite(src: Path, dest: Path, change: dict[str, callable]) -> Path:
    """Copy a bundle zip, passing the named entries' bytes through `change` (a consistent zip)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change[info.filename](data) if info.filename in change else data)
    return dest


def _flip_last_byte(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def test_a_model_altered_after_export_is_refused(colour_bundle, tmp_path):
    read_bundle(colour_bundle)  # the original passes
    altered = _rewrite(colour_bundle, tmp_path / "altered.cmb", {MODEL_FILE: _flip_last_byte})
    with pytest.raises(BundleError, match="damaged or was altered") as err:
        read_bundle(altered)
    message = str(err.value)
    assert str(altered) in message and MODEL_FILE in message and "Re-export" in message


def test_a_byte_flipped_inside_the_zip_is_reported_as_damage(colour_bundle, tmp_path):
    raw = bytearray(colour_bundle.read_bytes())
    with zipfile.ZipFile(colour_bundle) as zf:
        info = zf.getinfo(MODEL_FILE)
    # Stored (not deflated): the entry's data starts after its 30-byte local header, name and extra.
    name_len = int.from_bytes(raw[info.header_offset + 26:info.header_offset + 28], "little")
    extra_len = int.from_bytes(raw[info.header_offset + 28:info.header_offset + 30], "little")
    raw[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0xFF
    damaged = tmp_path / "damaged.cmb"
    damaged.write_bytes(bytes(raw))
    with pytest.raises(BundleError, match="damaged") as err:
        read_bundle(damaged)
    assert str(damaged) in str(err.value) and "Re-export" in str(err.value)
    assert "not a zip" not in str(err.value)


def test_bundles_without_recorded_checksums_still_load(colour_bundle, tmp_path):
    def drop_checksums(data: bytes) -> bytes:
        meta = json.loads(data)
        meta.pop("model_sha256")
        meta.pop("formats")
        return json.dumps(meta).encode()

    bundle = _rewrite(colour_bundle, tmp_path / "old.cmb", {METADATA_FILE: drop_checksums, MODEL_FILE: _flip_last_byte})
    assert read_bundle(bundle).labels  # nothing recorded, nothing to compare (bundles from before checksums)
