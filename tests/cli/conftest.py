"""A tiny trained run (3 cifar10-mini classes, 48 px, 2 epochs, about a second) and its bundles.

48 px, not 32: onnxruntime cannot run efficientnet_lite0's INT8 graph at 32 px (its last
depthwise convolutions see 2x2 maps), and the export tests need INT8. The frozen backbone keeps
training to a second; parity does not depend on how well the head learned.
"""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from support.images import csv_of_copies

TINY_CLASSES = ("airplane", "automobile", "bird")


@pytest.fixture(scope="session")
def tiny_classes() -> tuple[str, ...]:
    return TINY_CLASSES


@pytest.fixture(scope="session")
def tiny_run(shared_datasets, tmp_path_factory) -> Path:
    from classmill.train import resolve_config, train

    root = tmp_path_factory.mktemp("cli-run")
    data = csv_of_copies(shared_datasets / "cifar10-mini", TINY_CLASSES, 20, root, "tiny.csv")
    config = resolve_config("balanced", data=str(data), image_size=48, batch_size=8, epochs=2, warmup_epochs=0.0,
                            workers=2, freeze="backbone")
    result = train(config, root / "run")
    assert result.status == "finished"
    return result.run_dir


@pytest.fixture(scope="session")
def int8_export(tiny_run, tmp_path_factory):
    """`classmill export RUN --int8 --out ...` through the CLI: (CliRunner result, bundle path)."""
    from classmill.cli import app

    out = tmp_path_factory.mktemp("cli-bundle") / "tiny.cmb"
    result = CliRunner().invoke(app, ["export", str(tiny_run), "--int8", "--out", str(out)])
    return result, out


@pytest.fixture(scope="session")
def tiny_bundle(int8_export) -> Path:
    result, path = int8_export
    assert result.exit_code == 0, result.output
    return path
