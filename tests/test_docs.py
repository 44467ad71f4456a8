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
    assert scenarios == [str(n) for n in range(1, 27)]


# Paths the docs name: `src/...`, `web/...`, `tests/...`, `bench/...`, `docs/...`, or a
# module path below src/ such as `signaling/meetings/core.py` or `sfu/room.py`.
_PATH = re.compile(r"`((?:src|web|tests|bench|docs|signaling|sfu|recorder|meetbox)/[\w./-]+)`")


def _docs() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_the_docs_name_only_files_the_repo_ships() -> None:
    missing = []
    for doc in _docs():
        for path in _PATH.findall(doc.read_text()):
            path = path.split("::")[0].rstrip(".")
            candidates = [ROOT / path, ROOT / "src" / path]
            if not any(c.exists() for c in candidates):
                missing.append(f"{doc.name}: {path}")
    assert not missing, missing


def test_the_module_map_lists_every_module() -> None:
    """docs/architecture.md maps every module under src/ (a new module without a row fails)."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    listed = set(_PATH.findall(text))
    # A row may name several modules of one package: `sfu/router.py`, `track.py`, ...
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    for row in rows:
        first = _PATH.search(row)
        if first is None:
            continue
        folder = first.group(1).rsplit("/", 1)[0]
        listed |= {f"{folder}/{name}" for name in re.findall(r"`([\w.]+\.py)`", row)}
    missing = []
    for module in sorted((ROOT / "src").rglob("*.py")):
        rel = module.relative_to(ROOT / "src").as_posix()
        if module.name in ("__init__.py", "__main__.py") or "egg-info" in rel:
            continue
        if rel not in listed:
            missing.append(rel)
    assert not missing, f"modules missing from docs/architecture.md: {missing}"
