"""The inference HTTP service for one bundle (the offline SDK). Never imports torch."""

from classmill.serve.app import create_app
from classmill.serve.run import run_server

__all__ = ["create_app", "run_server"]
