import pytest

from classmill.train import resolve_config
from support.images import csv_of_copies

TINY = dict(image_size=32, batch_size=8, epochs=2, workers=2, warmup_epochs=0.0, select_metric="top1")


@pytest.fixture(scope="session")
def tiny_csv(shared_datasets, tmp_path_factory):
    """20 images of each of 3 cifar10-mini classes, copied beside a CSV."""
    return csv_of_copies(shared_datasets / "cifar10-mini", ("airplane", "automobile", "bird"), 20,
                         tmp_path_factory.mktemp("tiny"), "tiny.csv")


@pytest.fixture()
def tiny_config(tiny_csv):
    def make(**overrides):
        return resolve_config("balanced", data=str(tiny_csv), **{**TINY, **overrides})
    return make
