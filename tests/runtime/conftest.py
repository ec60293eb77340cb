"""Every runtime test starts from the same torch RNG state: statistical verdicts are reproducible."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _seeded_torch() -> None:
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(0)
