"""``GET /metrics`` over a real server with real aiortc participants: what a Prometheus
scrape sees of meetings, people, tracks and the relay's packets."""

from __future__ import annotations

import asyncio

from sfu.synthetic import ColorTrack, ToneTrack
from signaling.api.metrics import Metric, render
from signaling.client import MeetboxClient
from tests.conftest import API_KEY, Server


def parse(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.split(" ")
            values[name] = float(value)
    return values


async def scrape(server: Server, **headers: str) -> dict[str, float]:
    response = await server.http.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return parse(response.text)


def test_the_text_format() -> None:
    text = render([Metric("a_total", "counter", "As.", 3), Metric("b", "gauge", "B.", 0.5)])
    assert text == (
        "# HELP a_total As.\n# TYPE a_total counter\na_total 3\n"
        "# HELP b B.\n# TYPE b gauge\nb 0.5\n"
    )
    labelled = render(
        [
            Metric("d_total", "counter", "Ds.", 1, (("reason", "x"),)),
            Metric("d_total", "counter", "Ds.", 2, (("reason", "y"),)),
        ]
    )
    assert labelled == (
        '# HELP d_total Ds.\n# TYPE d_total counter\nd_total{reason="x"} 1\nd_total{reason="y"} 2\n'
    )


async def test_metrics_need_an_api_key(server: Server) -> None:
    for headers in (
        {"X-API-Key": ""},
        {"X-API-Key": "mbk_wrong"},
        {"X-API-Key": "", "Authorization": "Basic x"},
        {"X-API-Key": "", "Authorization": "Bearer mbk_wrong"},
    ):
        response = await server.http.get("/metrics", headers=headers)
        assert response.status_code == 401, headers
        assert response.headers["content-type"].startswith("application/problem+json")
    bearer = await scrape(server, **{"X-API-Key": "", "Authorization": f"Bearer {API_KEY}"})
    assert "meetbox_meetings" in bearer


async def test_a_meeting_shows_in_the_metrics(server: Server) -> None:
    before = await scrape(server)
    assert before["meetbox_meetings"] == 0 and before["meetbox_participants"] == 0
    room = await server.room(name="Scraped")
    made: list[MeetboxClient] = []
    try:
        for name in ("Ada", "Bo"):
            client = MeetboxClient(server.ws_url, await server.token(room, "speaker", name))
            made.append(client)
            await client.connect()
        await made[0].publish({"camera": ColorTrack((200, 30, 30)), "microphone": ToneTrack(440)})
        async with asyncio.timeout(15):
            await made[1].wait_for(lambda c: sum(t.frames for t in c.received.values()) >= 20)
        during = await scrape(server)
        assert during["meetbox_meetings"] == 1
        assert during["meetbox_participants"] == 2
        assert during["meetbox_published_tracks"] == 2
        received = during["meetbox_rtp_received_packets_total"]
        forwarded = during["meetbox_rtp_forwarded_packets_total"]
        assert received - before["meetbox_rtp_received_packets_total"] >= 20
        assert forwarded - before["meetbox_rtp_forwarded_packets_total"] >= 20
        assert during["process_resident_memory_bytes"] > 0 and during["process_open_fds"] > 0
        assert during["meetbox_asyncio_tasks"] > before["meetbox_asyncio_tasks"]
        for client in made:  # both press Leave; the bye comes once the leave is recorded
            await client.send(type="leave")
            async with asyncio.timeout(10):
                await client.wait_for(lambda c: c.closed_with is not None)
        after = await scrape(server)
        assert after["meetbox_participants"] == 0 and after["meetbox_published_tracks"] == 0
    finally:
        for client in made:
            await client.close()
