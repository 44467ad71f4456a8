"""The server/recorder contract (:mod:`signaling.recordings.contract`): the command line
and the status lines round trip, a garbled or unknown line is a clear :class:`ReportError`,
and the module loads neither PyAV, numpy nor the recorder package (the server imports it;
the recorder implements it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from recorder.layout import Layout
from signaling.api.schemas import RecordingLayout
from signaling.recordings.contract import (
    MAX_LINE_BYTES,
    Active,
    CommandLineError,
    Complete,
    ContractError,
    Ending,
    Event,
    Failed,
    Progress,
    RecorderCommand,
    RecorderLayout,
    ReportError,
    parse_event,
    parse_final,
    parse_line,
    sidecar_path,
)

EVENTS: list[Event] = [
    Active("2026-03-01T09:00:00.000Z"),
    Progress(12.3, 123456),
    Ending(),
    Complete(60.0, 9876543, "stopped"),
    Failed("disk full: no space left on device", 3.0, 300000),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.name)
def test_every_event_round_trips_through_its_line(event: Event) -> None:
    line = event.to_line()
    assert "\n" not in line and line.startswith('{"event":')
    assert parse_line(line) == event
    assert parse_line((line + "\n").encode()) == event


def test_lines_are_the_ones_the_server_always_read() -> None:
    assert Progress(1.5, 10).to_line() == '{"event":"progress","duration_s":1.5,"size_bytes":10}'
    assert Failed("x", 0.0, 0).to_line() == (
        '{"event":"failed","error":"x","duration_s":0.0,"size_bytes":0}'
    )
    assert Ending().to_line() == '{"event":"ending"}'
    # What it leaves out, a reader takes as unknown.
    assert Failed("gone").to_dict() == {"event": "failed", "error": "gone"}
    assert parse_line('{"event":"complete","reason":"stopped"}') == Complete(reason="stopped")
    assert parse_line('{"event":"active"}') == Active()


def test_unknown_fields_are_ignored_and_numbers_are_floats() -> None:
    event = parse_line('{"event":"progress","duration_s":3,"size_bytes":4,"fps":29.9}')
    assert event == Progress(3.0, 4) and isinstance(event, Progress)
    assert isinstance(event.duration_s, float)


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (b"", "not JSON"),
        (b"garbage\n", "not JSON"),
        (b'{"event": "progress", "duration_s": 1', "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"active"', "JSON object"),
        (b"{}", "unknown event"),
        (b'{"event": "exploded"}', "unknown event 'exploded'"),
        (b'{"event": 7}', "unknown event"),
        (b'{"event": "progress", "duration_s": "soon"}', "duration_s"),
        (b'{"event": "progress", "duration_s": -1}', "duration_s"),
        (b'{"event": "progress", "duration_s": NaN}', "duration_s"),
        (b'{"event": "progress", "size_bytes": true}', "size_bytes"),
        (b'{"event": "progress", "size_bytes": 1.5}', "size_bytes"),
        (b'{"event": "complete", "reason": 5}', "reason must be a string"),
        (b'{"event": "failed", "error": ["x"]}', "error must be a string"),
    ],
)
def test_a_garbled_or_unknown_line_is_a_clear_error(line: bytes, says: str) -> None:
    with pytest.raises(ReportError, match=says.replace("(", r"\(")):
        parse_line(line)


def test_every_truncation_of_a_line_is_an_error_never_a_crash() -> None:
    line = Complete(60.0, 9876543, "stopped").to_line().encode()
    for cut in range(len(line)):
        with pytest.raises(ContractError):
            parse_line(line[:cut])


def test_an_overlong_line_is_refused() -> None:
    padding = "x" * MAX_LINE_BYTES
    with pytest.raises(ReportError, match="at most"):
        parse_line(json.dumps({"event": "ending", "padding": padding}))
    assert isinstance(parse_event({"event": "ending", "padding": padding}), Ending)


def test_a_sidecar_holds_a_final_event_only(tmp_path: Path) -> None:
    output = tmp_path / "rec_x.mp4"
    assert sidecar_path(output) == tmp_path / "rec_x.mp4.json"
    final = Complete(4.5, None, "meeting_ended")
    assert parse_final(json.dumps(final.to_dict())) == final
    assert parse_final(json.dumps(Failed("e" * 10000).to_dict())) == Failed("e" * 10000)
    with pytest.raises(ReportError, match="not a final event"):
        parse_final(Progress(1.0, 1).to_line())
    with pytest.raises(ReportError):
        parse_final("")


def test_the_servers_command_line_round_trips() -> None:
    command = RecorderCommand(
        ws_url="ws://127.0.0.1:8080/ws",
        output=Path("/data/recordings/rec_abc.mp4"),
        layout=RecorderLayout.SPEAKER,
        width=854,
        height=480,
        fps=30,
        max_seconds=14400,
        min_free_bytes=67108864,
    )
    argv = command.to_argv()
    # As the server always passed it: the token is not on it (``ps`` shows command lines).
    assert argv == [
        "--ws-url", "ws://127.0.0.1:8080/ws",
        "--output", "/data/recordings/rec_abc.mp4",
        "--layout", "speaker",
        "--width", "854",
        "--height", "480",
        "--fps", "30",
        "--max-seconds", "14400",
        "--min-free-bytes", "67108864",
    ]  # fmt: skip
    assert RecorderCommand.parse(argv) == RecorderCommand(
        **{**_fields(command), "max_seconds": 14400.0}
    )


def test_every_option_round_trips() -> None:
    command = RecorderCommand(
        ws_url="ws://h/ws",
        output=Path("out.mp4"),
        layout=RecorderLayout.SINGLE_SPEAKER,
        width=640,
        height=360,
        fps=15,
        max_seconds=2.5,
        quota_bytes=1000,
        min_free_bytes=0,
        preset="veryfast",
        threads=2,
        log_level="debug",
        token="tok",
    )
    assert RecorderCommand.parse(command.to_argv()) == command
    minimal = RecorderCommand.parse(["--ws-url", "ws://h/ws", "--output", "o.mp4"])
    assert minimal == RecorderCommand(ws_url="ws://h/ws", output=Path("o.mp4"))


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        ([], "required"),
        (["--ws-url", "ws://h/ws"], "--output"),
        (["--ws-url", "u", "--output", "o", "--width", "0"], "must be positive"),
        (["--ws-url", "u", "--output", "o", "--fps", "many"], "invalid"),
        (["--ws-url", "u", "--output", "o", "--layout", "mosaic"], "invalid choice"),
        (["--ws-url", "u", "--output", "o", "--colour"], "unrecognized"),
    ],
)
def test_a_wrong_command_line_is_a_command_line_error(argv: list[str], says: str) -> None:
    with pytest.raises(CommandLineError, match=says):
        RecorderCommand.parse(argv)


def test_the_recorder_refuses_a_wrong_command_line_as_argparse_did() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "recorder", "--ws-url", "u"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("usage: python -m recorder")
    assert "python -m recorder: error: the following arguments are required: --output" in (
        done.stderr
    )


def test_the_layouts_are_the_recorders_and_the_apis() -> None:
    values = [layout.value for layout in RecorderLayout]
    assert values == [layout.value for layout in Layout]
    assert values == [layout.value for layout in RecordingLayout]


def loaded_after(imports: str) -> list[str]:
    code = (
        f"import sys, {imports}\n"
        "watched = ('av', 'numpy', 'recorder', 'signaling.api.app')\n"
        "heavy = sorted(m for m in watched if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return [name for name in done.stdout.strip().split(",") if name]


def test_importing_the_contract_loads_neither_pyav_numpy_nor_the_recorder() -> None:
    assert loaded_after("signaling.recordings.contract") == []
    # The recorder's status side needs no PyAV either.
    assert loaded_after("recorder.status") == ["recorder"]


def test_the_server_does_not_import_the_recorder_package() -> None:
    """tests/meetbox/test_shutdown.py puts a stand-in ``recorder`` first on the path."""
    assert "recorder" not in loaded_after("meetbox.server")


@pytest.mark.parametrize(
    "module",
    [
        "signaling.recordings.transitions",
        "signaling.recordings.access",
        "signaling.recordings.files",
        "signaling.api.recordings_view",
    ],
)
def test_the_pure_recordings_parts_import_light(module: str) -> None:
    assert loaded_after(module) == []


def test_the_recordings_service_imports_without_the_http_app() -> None:
    loaded = loaded_after("signaling.recordings.service")
    assert "signaling.api.app" not in loaded and "recorder" not in loaded


def _fields(command: RecorderCommand) -> dict[str, object]:
    return {name: getattr(command, name) for name in RecorderCommand.__dataclass_fields__}
