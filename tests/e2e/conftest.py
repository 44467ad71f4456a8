"""Real Chromium (Debian's, through Playwright) with fake camera and microphone.

Without /usr/bin/chromium the browser tests skip, except under CI (``CI=true``), where a
missing browser is a failure: .ci/run installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[Any]:
    if not shutil.which(CHROMIUM):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{CHROMIUM} is missing; .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
async def launcher(server: Any) -> AsyncIterator[Any]:
    """The server's recorders are scripted (tests/signaling/test_recordings.py): the test says
    what each reports; the real recorder is tested in tests/recorder/."""
    from tests.signaling.test_recordings import ScriptedLauncher

    fake = ScriptedLauncher()
    server.services.recordings.launcher = fake
    yield fake
    for recorder in fake.all:  # what a real recorder does when the server goes
        recorder.exit(0)
