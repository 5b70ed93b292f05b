import csv

import pytest

from classmill.train import resolve_config

TINY = dict(image_size=32, batch_size=8, epochs=2, workers=2, warmup_epochs=0.0, select_metric="top1")


@pytest.fixture(scope="session")
def tiny_csv(shared_datasets, tmp_path_factory):
    """20 images of each of 3 cifar10-mini classes, as a CSV pointing into the shared folder."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        for label in ("airplane", "automobile", "bird"):
            for img in sorted((shared_datasets / "cifar10-mini" / label).iterdir())[:20]:
                w.writerow([str(img), label])
    return path


@pytest.fixture()
def tiny_config(tiny_csv):
    def make(**overrides):
        return resolve_config("balanced", data=str(tiny_csv), **{**TINY, **overrides})
    return make
