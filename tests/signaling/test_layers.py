"""Layering: the services and the webhook events import on their own, without the HTTP app.

Services return records; the REST models and their views are the edge's. The webhook events
use the edge's views (their ``data`` is the resource as the REST API shows it), which must not
drag the app, and so every service, back in: that cycle once made ``import signaling.services``
fail unless ``signaling.api`` had been imported first.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

SERVICE_SIDE = [
    "signaling.services",
    "signaling.rooms.service",
    "signaling.accounts.themes",
    "signaling.webhooks.service",
    "signaling.webhooks.events",
    "signaling.api.views",
]


@pytest.mark.parametrize("module", SERVICE_SIDE)
def test_imports_alone_without_the_http_app(module: str) -> None:
    probe = f"import sys, {module}; print('signaling.api.app' in sys.modules)"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_the_app_is_still_reachable_from_the_package() -> None:
    from signaling.api import API_PREFIX, create_app
    from signaling.api.app import create_app as defined

    assert create_app is defined
    assert API_PREFIX == "/api/v1"


# Where signaling may import sfu (docs/architecture.md, "Layers"): the placement holds the
# media objects; the meeting adapter knows the media refusal type; the Python client is a
# media client.
SFU_IMPORTERS = {
    "signaling/placement/local.py": None,
    "signaling/meetings/service.py": {"sfu.errors"},
    "signaling/client.py": {"sfu.peer", "sfu.synthetic"},
    # The worker placement holds no media object: only the control pipe's format.
    "signaling/placement/workers.py": {"sfu.control", "sfu.errors"},
    "signaling/placement/remote.py": {"sfu.control", "sfu.errors"},
    "signaling/placement/spread.py": {"sfu.errors"},
}


def test_signaling_reaches_media_only_through_the_placement() -> None:
    import re
    from pathlib import Path

    src = Path(__file__).resolve().parents[2] / "src"
    wrong = []
    for path in sorted((src / "signaling").rglob("*.py")):
        rel = path.relative_to(src).as_posix()
        modules = set(re.findall(r"^\s*(?:from|import) (sfu(?:\.\w+)*)", path.read_text(), re.M))
        if not modules:
            continue
        allowed = SFU_IMPORTERS.get(rel, set())
        if allowed is not None and not modules <= allowed:
            wrong.append(f"{rel}: {sorted(modules - allowed)}")
    assert not wrong, f"signaling modules reaching into sfu: {wrong}"


def test_a_media_worker_loads_no_web_stack() -> None:
    """A media worker process imports the media stack and the standard library only: the
    web stack would cost every worker its memory."""
    import json
    import subprocess
    import sys

    probe = (
        "import json, sys, meetbox.worker, sfu.worker;"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    assert not loaded & {"signaling", "fastapi", "starlette", "uvicorn", "pydantic", "aiosqlite",
                         "recorder", "httpx"}, loaded  # fmt: skip
