"""Export failures."""

from classmill.errors import UserError


class ExportError(UserError):
    """Export was asked for something it cannot do (wrong class count, missing calibration data...)."""


class ExportVerificationError(ExportError):
    """The exported graph does not reproduce the PyTorch model; the bundle is not written."""
