import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / "models"
sys.path.insert(0, str(REPO / "bench"))  # the daemon harness in bench/reliability.py


@pytest.fixture
def bundle_copy(tmp_path) -> Path:
    """A private copy of the committed bundle that a test may break."""
    dest = tmp_path / "bundle"
    shutil.copytree(MODELS, dest, ignore=shutil.ignore_patterns(".lock", "*.tmp"))
    return dest
