"""Fuzz the REST API from its own OpenAPI document, against a real server process.

Every generated request, valid or not, must get no 5xx, a status the spec documents, the
documented content type, and a body matching the documented schema. The run is bounded
(``--max-examples``) and seeded so a failure can be replayed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import API_KEY
from tests.meetbox.conftest import Server

CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    ]
)


def test_api_conforms_to_its_own_openapi_spec(live_server: Server, tmp_path: Path) -> None:
    st = Path(sys.executable).with_name("st")
    result = subprocess.run(
        [
            str(st),
            "run",
            f"{live_server.url}/api/v1/openapi.json",
            "--header",
            f"X-API-Key: {API_KEY}",
            "--checks",
            CHECKS,
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
        timeout=600,
        cwd=tmp_path,
    )
    summary = result.stdout[-6000:]
    assert result.returncode == 0, summary
    assert "API Operations" in result.stdout and "Tested: 0" not in result.stdout
    live_server.stop()
    assert not any("Traceback" in line for line in live_server.stderr), "".join(live_server.stderr)
