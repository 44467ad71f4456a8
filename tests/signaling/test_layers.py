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
