"""Golden files for analysis and CLI tests: `PCC_UPDATE_GOLDEN=1 pytest ...` rewrites them."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).resolve().parent / "golden"


def assert_golden(name: str, text: str) -> None:
    """`text` equals the file tests/golden/<name> (created or rewritten when updating)."""
    path = GOLDEN / name
    if os.environ.get("PCC_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with PCC_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"differs from {path}"
