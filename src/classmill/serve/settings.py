"""The service's limits as one typed object: defaults here, CLASSMILL_SERVE_* environment variables
over them, explicit arguments (CLI options, create_app keywords) over both."""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from classmill.errors import ConfigError
from classmill.image import DEFAULT_MAX_PIXELS
from classmill.infer.predictor import usable_cores

MIB = 1024 * 1024
ENV_PREFIX = "CLASSMILL_SERVE_"


class ServeSettings(BaseSettings):
    """What one service accepts. Every field can be set as CLASSMILL_SERVE_<FIELD NAME>."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid", frozen=True)

    max_upload_mb: float = Field(20, gt=0, description="largest accepted image file, MiB")
    max_batch_files: int = Field(64, ge=1, description="images per /predict request")
    batch_window_ms: float = Field(5, ge=0, description="how long concurrent images wait to share one ORT call")
    max_batch_size: int = Field(32, ge=1, description="most images in one ORT call")
    max_zip_mb: float = Field(256, gt=0, description="largest /predict/batch archive, MiB")
    max_zip_entries: int = Field(10_000, ge=1, description="most files in a /predict/batch archive")
    max_megapixels: float = Field(DEFAULT_MAX_PIXELS / 1e6, gt=0,
                                  description="images with more pixels are refused from their header")
    # Decoding is CPU-bound and a 40 MP decode holds ~120 MB: more at once than there are cores
    # only adds memory, never speed.
    max_concurrent_decodes: int = Field(default_factory=usable_cores, ge=1,
                                        description="images decoded at the same time, across all requests")

    @property
    def max_file_bytes(self) -> int:
        return int(self.max_upload_mb * MIB)

    @property
    def max_zip_bytes(self) -> int:
        return int(self.max_zip_mb * MIB)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1e6)


def load_settings(base: ServeSettings | None = None, **overrides) -> ServeSettings:
    """base (default: built from the environment) with overrides applied; ConfigError when invalid.

    overrides: ServeSettings fields; None values are left out so unset CLI options change nothing.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        if base is None:
            return ServeSettings(**given)
        return ServeSettings(**{**base.model_dump(), **given})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])} (env {ENV_PREFIX}{str(err['loc'][0]).upper()}): {err['msg']}"
            if err.get("loc") else err["msg"]
            for err in exc.errors()
        )
        raise ConfigError(f"invalid service setting: {problems}. Fix the option or environment variable.") from exc
