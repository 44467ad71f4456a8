"""The room page's reducer (web/js/room/state.js), run in real Chromium without a server:
reduce(state, message) -> state for the signaling messages, pure (the state it is given is
never changed). The page's files are served from web/ by a route on a made-up origin."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

WEB = Path(__file__).resolve().parents[2] / "web"
ORIGIN = "http://meetbox.test"

# Runs the messages through reduce() one by one; returns every state after a message as
# plain JSON (Maps as lists of values, in order), and whether any input state was changed
# or a message that changes nothing still made a new state.
RUN = """async (messages) => {
  const { initialState, reduce } = await import("/web/js/room/state.js");
  const plain = (state) => JSON.parse(JSON.stringify(state, (key, value) =>
    value instanceof Map ? [...value.values()] : value));
  let state = initialState();
  const states = [];
  const changedInput = [];
  const same = [];
  for (const message of messages) {
    const before = JSON.stringify(plain(state));
    const next = reduce(state, message);
    if (JSON.stringify(plain(state)) !== before) changedInput.push(message.type);
    same.push(next === state);
    state = next;
    states.push(plain(state));
  }
  return { states, changedInput, same, initial: plain(initialState()) };
}"""


def person(pid: str, nickname: str, role: str = "speaker", **flags: Any) -> dict[str, Any]:
    muted = {"audio": False, "video": False, "screen": False} | flags.pop("muted", {})
    return {
        "id": pid,
        "nickname": nickname,
        "role": role,
        "joined_at": "2026-01-01T00:00:00Z",
        "hand_raised": False,
        "muted": muted,
    } | flags


def track(tid: str, pid: str, kind: str = "video", source: str = "camera") -> dict[str, Any]:
    return {"id": tid, "participant_id": pid, "kind": kind, "source": source}


def chat(cid: str, pid: str, text: str) -> dict[str, Any]:
    return {
        "type": "chat",
        "id": cid,
        "participant_id": pid,
        "nickname": pid,
        "text": text,
        "sent_at": "2026-01-01T00:00:01Z",
    }


ALICE = person("p-alice", "Alice", "moderator")
BOB = person("p-bob", "Bob")


def joined(**fields: Any) -> dict[str, Any]:
    return {
        "type": "joined",
        "meeting_id": "m1",
        "room_id": "r1",
        "you": ALICE,
        "participants": [BOB],
        "tracks": [track("t-bob-cam", "p-bob")],
        "chat_history": [chat("c1", "p-bob", "earlier")],
        "resume_token": "rt1",
        "chat_enabled": True,
        "screen_share_enabled": False,
        "recording": None,
        "active_speaker": None,
    } | fields


@pytest.fixture
async def run(browser: Any) -> AsyncIterator[Any]:
    page = await browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    async def serve(route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        file = (WEB / path.removeprefix("/web/")).resolve()
        if path.startswith("/web/") and file.is_relative_to(WEB) and file.is_file():
            kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            await route.fulfill(body=file.read_bytes(), content_type=kind)
        else:
            await route.fulfill(
                body="<!doctype html><title>reducer</title>", content_type="text/html"
            )

    await page.route(f"{ORIGIN}/**", serve)
    await page.goto(f"{ORIGIN}/")

    async def reduce_all(*messages: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await page.evaluate(RUN, list(messages))
        assert result["changedInput"] == [], "reduce() changed the state it was given"
        return result

    yield reduce_all
    assert not errors, errors
    await page.close()


async def test_joined_is_the_meeting_as_the_page_starts_with(run: Any) -> None:
    result = await run(joined(active_speaker="p-bob"))
    assert result["initial"]["me"] is None and result["initial"]["people"] == []
    state = result["states"][0]
    assert state["me"] == ALICE
    assert [p["id"] for p in state["people"]] == ["p-alice", "p-bob"]  # you first, then join order
    assert state["tracks"] == [track("t-bob-cam", "p-bob")]
    assert [(m["text"], m["fresh"]) for m in state["chat"]] == [("earlier", False)]
    assert (state["chatEnabled"], state["screenShareEnabled"]) == (True, False)
    assert state["speaker"] == "p-bob"
    assert state["recording"] is None and state["notice"] is None and state["banner"] is None


async def test_a_recording_under_way_at_join_shows_and_a_finished_one_does_not(run: Any) -> None:
    active = {"type": "recording", "recording_id": "rec1", "status": "active", "error": None}
    done = active | {"status": "complete"}
    assert (await run(joined(recording=active)))["states"][0]["recording"] == active
    assert (await run(joined(recording=done)))["states"][0]["recording"] is None


async def test_people_come_change_and_go_with_their_tracks(run: Any) -> None:
    carol = person("p-carol", "Carol")
    result = await run(
        joined(),
        {"type": "participant_joined", "participant": carol},
        {"type": "participant_updated", "participant": carol | {"hand_raised": True}},
        {"type": "participant_updated", "participant": ALICE | {"muted": {"audio": True}}},
        {"type": "participant_left", "participant_id": "p-bob", "reason": "left"},
    )
    _, came, raised, me_muted, left = result["states"]
    assert [p["id"] for p in came["people"]] == ["p-alice", "p-bob", "p-carol"]
    assert raised["people"][2]["hand_raised"] is True
    assert [p["id"] for p in raised["people"]] == ["p-alice", "p-bob", "p-carol"]  # order kept
    assert raised["me"] == ALICE
    assert me_muted["me"]["muted"] == {"audio": True}  # our own update is "me" too
    assert [p["id"] for p in left["people"]] == ["p-alice", "p-carol"]
    assert left["tracks"] == []  # Bob's camera went with him


async def test_tracks_are_published_and_unpublished(run: Any) -> None:
    screen = track("t-bob-screen", "p-bob", source="screen")
    result = await run(
        joined(),
        {"type": "track_published", "track": screen},
        {"type": "track_unpublished", "track_id": "t-bob-cam", "participant_id": "p-bob"},
        {"type": "track_unpublished", "track_id": "t-unknown", "participant_id": "p-bob"},
    )
    _, published, unpublished, unknown = result["states"]
    assert [t["id"] for t in published["tracks"]] == ["t-bob-cam", "t-bob-screen"]
    assert [t["id"] for t in unpublished["tracks"]] == ["t-bob-screen"]
    assert unknown == unpublished and result["same"][3]  # nothing to do: the same state


async def test_chat_and_the_active_speaker(run: Any) -> None:
    result = await run(
        joined(),
        chat("c2", "p-bob", "hello"),
        {"type": "active_speaker", "participant_id": "p-alice"},
        {"type": "active_speaker", "participant_id": None},
    )
    _, chatted, speaking, silent = result["states"]
    assert [(m["id"], m["fresh"]) for m in chatted["chat"]] == [("c1", False), ("c2", True)]
    assert speaking["speaker"] == "p-alice" and silent["speaker"] is None


async def test_a_resume_takes_the_snapshot_and_keeps_the_chat_log(run: Any) -> None:
    carol = person("p-carol", "Carol")
    result = await run(
        joined(),
        chat("c2", "p-bob", "before the drop"),
        joined(
            participants=[carol],
            tracks=[],
            chat_history=[
                chat("c1", "p-bob", "earlier"),
                chat("c2", "p-bob", "before the drop"),
                chat("c3", "p-carol", "while you were away"),
            ],
            resume_token="rt2",
        ),
    )
    resumed = result["states"][2]
    assert [p["id"] for p in resumed["people"]] == ["p-alice", "p-carol"]
    assert resumed["tracks"] == []
    assert [(m["id"], m["fresh"]) for m in resumed["chat"]] == [
        ("c1", False),
        ("c2", True),
        ("c3", False),
    ]


async def test_the_recording_lifecycle_and_its_notices(run: Any) -> None:
    def rec(status: str, error: str | None = None) -> dict[str, Any]:
        return {"type": "recording", "recording_id": "rec1", "status": status, "error": error}

    result = await run(
        joined(),
        {"type": "record_requested", "ref": "record-1"},
        rec("starting"),
        rec("active"),
        rec("ending"),
        rec("complete"),
        rec("starting"),  # a new one: the last notice is old news
        rec("failed", "disk full"),
        rec("failed"),
        rec("aborted"),
    )
    states = result["states"]
    assert states[1]["recordRef"] == "record-1"
    assert states[2]["recording"]["status"] == "starting" and states[2]["recordRef"] is None
    assert [s["recording"]["status"] for s in states[3:5]] == ["active", "ending"]
    assert states[5]["recording"] is None
    assert states[5]["notice"] == {"text": "The recording stopped and was saved."}
    assert states[6]["notice"] is None
    assert states[7]["notice"] == {"text": "The recording failed: disk full."}
    assert states[8]["notice"] == {"text": "The recording failed: no reason given."}
    assert states[9]["notice"] == {"text": "The recording stopped before anything was recorded."}


async def test_a_refused_record_request_says_why(run: Any) -> None:
    refused = {"type": "error", "code": "recording_unavailable", "message": "no disk", "ref": "r1"}
    active = {"type": "recording", "recording_id": "rec1", "status": "active", "error": None}
    result = await run(
        joined(),
        {"type": "record_requested", "ref": "r1"},
        refused,
        active,
        {"type": "record_requested", "ref": "r1"},
        refused,
        refused | {"ref": "someone else's"},
    )
    states = result["states"]
    assert states[2]["recordRef"] is None
    assert states[2]["notice"] == {"text": "The meeting could not be recorded: no disk."}
    assert states[5]["notice"] == {"text": "The recording could not be stopped: no disk."}
    assert states[5]["recording"] == active  # still under way
    assert result["same"][6]  # not our request: nothing changes


async def test_what_the_banner_says(run: Any) -> None:
    result = await run(
        joined(),
        {"type": "muted_by_moderator", "kind": "audio", "by": "p-bob"},
        {"type": "muted_by_moderator", "kind": "video", "by": "p-bob"},
        {"type": "muted_by_moderator", "kind": "screen", "by": "p-bob"},
        {
            "type": "error",
            "code": "forbidden",
            "message": "Only moderators can do that",
            "ref": None,
        },
        {"type": "banner", "text": "Connection lost. Reconnecting..."},
        {"type": "banner", "text": ""},
        {"type": "error", "code": "chat_disabled", "message": "Chat is off", "ref": None},
    )
    texts = [s["banner"]["text"] for s in result["states"][1:7]]
    assert texts == [
        "A moderator turned off your microphone.",
        "A moderator turned off your camera.",
        "A moderator turned off your screen share.",
        "Only moderators can do that",
        "Connection lost. Reconnecting...",
        "",
    ]
    assert result["same"][7]


async def test_messages_the_page_does_not_show_change_nothing(run: Any) -> None:
    result = await run(
        joined(),
        {"type": "pong"},
        {"type": "publish_answer", "sdp": "v=0"},
        {"type": "subscribe_offer", "sdp": "v=0", "tracks": {}},
        {"type": "bye", "reason": "left"},
    )
    assert result["same"][1:] == [True, True, True, True]
