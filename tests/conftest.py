"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The shared corpus of real public samples (read-only)."""
    path = SHARED / "corpus"
    if not path.is_dir():
        pytest.fail(f"shared corpus not found at {path}")
    return path
