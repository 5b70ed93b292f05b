import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support.images import SHARED_DATASETS  # noqa: E402


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.fail(f"{SHARED_DATASETS} is missing: tests read the shared datasets from ../shared/datasets")
    return SHARED_DATASETS
