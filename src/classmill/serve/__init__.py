"""The inference HTTP service for one bundle (the offline SDK). Never imports torch."""

from classmill.serve.app import create_app
from classmill.serve.run import run_server
from classmill.serve.settings import ServeSettings, load_settings

__all__ = ["ServeSettings", "create_app", "load_settings", "run_server"]
