"""Fuzz the REST API from its own OpenAPI document, against a real server process.

All of schemathesis's checks run, stateful phase included: no 5xx, documented statuses,
content types, headers and bodies; schema-valid requests accepted and schema-invalid ones
refused; ``Allow`` on 405 naming every method of the path; missing auth refused. What a
static schema cannot predict is stated next to this file: ``schemathesis.toml`` names the
documented refusals that depend on server state (unknown cursor 400, rotated link 410, a
logo that is no image 415), ``fuzz_hooks.py`` keeps generated ``auto_delete_at`` inside its
clock-relative window. The run is bounded (``--max-examples``, about half a minute) and
seeded so a failure can be replayed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import API_KEY
from tests.meetbox.conftest import Server

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


# About 40 s here; the suite's 60 s default would leave a slower CI machine no margin.
@pytest.mark.timeout(300)
def test_api_conforms_to_its_own_openapi_spec(live_server: Server, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [
            str(st),
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{live_server.url}/api/v1/openapi.json",
            "--header",
            f"X-API-Key: {API_KEY}",
            "--checks",
            "all",
            "--max-examples",
            os.environ.get("MEETBOX_FUZZ_EXAMPLES", "40"),
            "--seed",
            os.environ.get("MEETBOX_FUZZ_SEED", "20261121"),
            "--generation-database",
            "none",
            "--report",
            "junit",
            "--report-dir",
            str(tmp_path / "report"),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": path, "SCHEMATHESIS_HOOKS": "tests.meetbox.fuzz_hooks"},
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "API Operations" in result.stdout and "Tested: 0" not in result.stdout
    live_server.stop()
    assert not any("Traceback" in line for line in live_server.stderr), "".join(live_server.stderr)
