"""docs/reliability.md names the tests that cover each scenario: every one must exist."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_reliability_doc_names_only_tests_that_exist() -> None:
    text = (ROOT / "docs" / "reliability.md").read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(named) > 50
    missing = []
    for path, name in named:
        source = (ROOT / path).read_text() if (ROOT / path).exists() else ""
        if not re.search(rf"^(async )?def {name}\(", source, re.M):
            missing.append(f"{path}::{name}")
    assert not missing, missing
    scenarios = re.findall(r"^### (\d+)\. ", text, re.M)
    assert scenarios == [str(n) for n in range(1, 26)]
