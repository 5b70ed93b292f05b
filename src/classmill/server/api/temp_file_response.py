"""A download that exists only while it is sent (a version's export zip, a model's SDK)."""

from __future__ import annotations

from pathlib import Path

from fastapi.responses import FileResponse


class TempFileResponse(FileResponse):
    """A file deleted once sent, or once sending stops (client gone, cancelled, failed): a background
    task would run only after a complete send, leaving the export behind otherwise."""

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            Path(self.path).unlink(missing_ok=True)
