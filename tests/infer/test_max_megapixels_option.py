"""--max-megapixels on predict, serve and evaluate: one default (the library's), passed through."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from classmill.cli import app
from classmill.commands.predict import MAX_MEGAPIXELS_HELP
from classmill.image import DEFAULT_MAX_PIXELS, TooManyPixelsError

runner = CliRunner()


def test_help_states_the_library_default():
    assert re.search(r"\(default (\d+)\)", MAX_MEGAPIXELS_HELP).group(1) == f"{DEFAULT_MAX_PIXELS / 1e6:g}"
    for command in ("predict", "serve", "evaluate"):
        result = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0 and "--max-megapixels" in result.output, command


def test_predict_refuses_an_image_over_the_given_limit(colour_bundle, colours, make_two_tone, tmp_path):
    image = tmp_path / "photo.png"
    make_two_tone(colours["red"], colours["dark"], size=(40, 40)).save(image)  # 1,600 px
    result = runner.invoke(app, ["predict", str(colour_bundle), str(image), "--max-megapixels", "0.001",
                                 "--out", str(tmp_path / "out")])
    assert isinstance(result.exception, TooManyPixelsError), result.output
    assert "photo.png: 40x40 px" in str(result.exception)
    result = runner.invoke(app, ["predict", str(colour_bundle), str(image), "--json", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output


def test_serve_passes_the_limit_to_the_service(colour_bundle, monkeypatch):
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda served, **options: started.update(app=served))
    result = runner.invoke(app, ["serve", str(colour_bundle), "--max-megapixels", "2.5"])
    assert result.exit_code == 0, result.output
    with TestClient(started["app"]):
        assert started["app"].state.predictor.max_pixels == 2_500_000
    result = runner.invoke(app, ["serve", str(colour_bundle), "--max-megapixels", "0"])
    assert result.exception is not None and "max_megapixels" in str(result.exception)
    assert "http://" not in result.output  # refused before announcing an address
