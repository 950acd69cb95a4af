"""Issue 15, the stream monitor against a real server, monitor processes, PostgreSQL and Redis: live HLS
made by ffmpeg and served on loopback. A prohibited clip mid-stream stops transmission with its evidence
in a case; a killed monitor's stream is taken over from the last checked segment; a stalled playlist and
a 404 segment are case notes, not a crash; fragments carrying C2PA are verified with the fragment reader."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests import media_factory
from tests.conftest import Server, require_shared
from tests.streams import live_hls
from tests.streams.conftest import Monitor, label, prohibit, register, stream_view, wait_for
from tests.streams.live_hls import LiveServer, LiveStream


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    picture = media_factory.png(root / "prohibited.png", (320, 240), seed=151)
    rumour = media_factory.png(root / "refuted.png", (320, 240), seed=152)
    return {"innocent": live_hls.innocent_clip(root / "innocent.mp4", 6),
            "prohibited": live_hls.still_clip(root / "prohibited.mp4", picture, 6),
            "refuted": live_hls.still_clip(root / "refuted.mp4", rumour, 6),
            "long": live_hls.innocent_clip(root / "long.mp4", 24)}


def cut(tmp: Path, *parts: Path, fmp4: bool = False) -> tuple[Path, list[float]]:
    folder = tmp / secrets.token_hex(3)
    return folder, live_hls.segment(list(parts), folder, fmp4=fmp4)


def notes(view: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in view["notes"] if n["kind"] == kind]


def test_a_prohibited_clip_mid_stream_stops_transmission_with_evidence_in_a_case(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str], clips: dict[str, Path],
        monitors: Callable[..., Monitor], tmp_path: Path) -> None:
    prohibit(server, clips["prohibited"], f"p_live_{secrets.token_hex(3)}")
    folder, durations = cut(tmp_path, clips["innocent"], clips["prohibited"])
    first_prohibited = 3  # 6 s of innocent programme in 2 s segments
    url = live_server.add(f"s{secrets.token_hex(3)}", LiveStream(folder, durations))
    content_id = register(server, stream_publisher, url)
    m = monitors("a")

    view = wait_for(lambda: (v := stream_view(server, stream_publisher, content_id))["monitor"]["status"]
                    == "stopped" and v, 90, "the monitor to stop the stream", [m])
    assert label(server, content_id)["state"] == "blocked"
    match = notes(view, "prohibited_match")
    assert len(match) == 1, view["notes"]
    evidence = match[0]
    # Caught within one sampling interval (2 s, one keyframe per segment) of the switch: the first keyframe of
    # segment 3 still shows the last frame before the cut, so the match is segment 3 or 4.
    sequence = int(evidence["segment_url"].rsplit("seg-", 1)[1].split(".")[0])
    assert sequence in (first_prohibited, first_prohibited + 1), evidence
    assert evidence["media_time"] == pytest.approx(sequence * 2, abs=0.5)
    assert evidence["details"]["match"]["list"] == "prohibited" and evidence["details"]["match"]["distance"] < 0.12
    # The innocent segments before it were checked and passed.
    assert view["monitor"]["checked_segments"] >= first_prohibited

    with server.client() as http:
        case = http.get(f"/v1/cases/{evidence['case_id']}",
                        headers={"Authorization": f"Bearer {server.keys['moderator']}"}).json()
        trail = http.get("/v1/audit/log", params={"limit": 200},
                         headers={"Authorization": f"Bearer {server.keys['auditor']}"})
    assert case["status"] == "decided" and case["outcome"] == "block"
    assert any(n["kind"] == "prohibited_match" and n["segment_url"] == evidence["segment_url"]
               for n in case["stream_notes"])
    from tests.backend.casework import console_login

    console, _csrf = console_login(server, "moderator")
    with contextlib.closing(console):
        page = console.get(f"/console/cases/{evidence['case_id']}").text
    assert 'id="stream-notes"' in page and evidence["segment_url"] in page and "Matches blocked content" in page
    if trail.status_code == 200:
        actions = [e.get("action") for e in trail.json().get("entries", [])]
        assert "stream.prohibited_match" in actions and "case.block" in actions
    assert m.alive()


def test_a_killed_monitor_is_taken_over_from_the_last_checked_segment(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str], clips: dict[str, Path],
        monitors: Callable[..., Monitor], tmp_path: Path) -> None:
    folder, durations = cut(tmp_path, clips["long"])
    name = f"k{secrets.token_hex(3)}"
    url = live_server.add(name, LiveStream(folder, durations))
    content_id = register(server, stream_publisher, url, "synthetic_voice")
    pool = {"a": monitors("a"), "b": monitors("b")}

    def holder() -> tuple[str, int] | None:
        mon = stream_view(server, stream_publisher, content_id)["monitor"]
        return (mon["owner"], mon["next_sequence"]) if mon["owner"] and mon["next_sequence"] >= 3 else None

    owner, _ = wait_for(holder, 60, "a monitor to check three segments", list(pool.values()))
    victim = next(k for k, m in pool.items() if str(m.proc.pid) in owner)
    pool[victim].kill()
    at_kill = stream_view(server, stream_publisher, content_id)["monitor"]["next_sequence"]
    survivor = pool["b" if victim == "a" else "a"]

    done = wait_for(lambda: (v := stream_view(server, stream_publisher, content_id))["monitor"]["status"]
                    == "ended" and v, 120, "the other monitor to finish the stream", [survivor])
    assert done["monitor"]["next_sequence"] == len(durations)
    assert done["monitor"]["checked_segments"] >= len(durations)
    assert str(survivor.proc.pid) in survivor.log() or "watching stream" in survivor.log()
    # Taken over from the last checked segment: nothing before it fetched again, at most the one in flight.
    fetched = [p for p in live_server.requests if p.startswith(f"/{name}/seg-")]
    assert all(fetched.count(p) <= 2 for p in set(fetched))
    assert sum(fetched.count(p) - 1 for p in set(fetched)) <= 1, sorted(fetched)
    assert len({p for p in fetched}) == len(durations) and at_kill < len(durations)
    assert survivor.alive()


def test_a_stalled_playlist_and_a_missing_segment_are_case_notes_not_a_crash(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str], clips: dict[str, Path],
        monitors: Callable[..., Monitor], tmp_path: Path) -> None:
    folder, durations = cut(tmp_path, clips["long"])
    live = LiveStream(folder, durations, end=False, missing={2})
    url = live_server.add(f"x{secrets.token_hex(3)}", live)
    content_id = register(server, stream_publisher, url, "none")
    m = monitors("a")

    wait_for(lambda: stream_view(server, stream_publisher, content_id)["monitor"]["next_sequence"] >= 4, 60,
             "four segments to be looked at", [m])
    live.stall()
    view = wait_for(lambda: (v := stream_view(server, stream_publisher, content_id)) and notes(v, "stalled") and v,
                    60, "a stall note", [m])
    missing = notes(view, "segment_missing")
    assert len(missing) == 1 and missing[0]["segment_url"].endswith("/seg-2.ts")
    assert "HTTP 404" in missing[0]["message"] and "next segments are still checked" in missing[0]["message"]
    stalled = notes(view, "stalled")[0]
    assert "has not grown" in stalled["message"] and "still watching" in stalled["message"]
    assert stalled["case_id"] == missing[0]["case_id"] == view["monitor"]["case_id"]
    assert view["monitor"]["status"] == "watching" and m.alive()
    assert label(server, content_id)["state"] == "unsigned"  # notes never block or label by themselves

    live.stalled_at = None  # the playlist grows again: monitoring simply goes on
    wait_for(lambda: stream_view(server, stream_publisher, content_id)["monitor"]["next_sequence"]
             > (live.visible() and 6), 60, "monitoring to resume", [m])
    live.end = True  # the programme ends: the stream is not left for the next tests' monitors
    wait_for(lambda: stream_view(server, stream_publisher, content_id)["monitor"]["status"] == "ended", 60,
             "the stream to end", [m])


def test_c2pa_on_fragmented_mp4_segments_is_verified_with_the_fragment_reader(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str],
        monitors: Callable[..., Monitor], tmp_path: Path) -> None:
    fixtures = require_shared()
    folder = tmp_path / "fmp4"
    folder.mkdir()
    (folder / "init.mp4").write_bytes((fixtures / "dashinit.mp4").read_bytes())
    fragment = (fixtures / "dash1.m4s").read_bytes()
    (folder / "seg-0.m4s").write_bytes(fragment)
    tampered = bytearray(fragment)
    tampered[-500] ^= 0xFF
    (folder / "seg-1.m4s").write_bytes(bytes(tampered))
    url = live_server.add(f"c{secrets.token_hex(3)}", LiveStream(folder, [2.0, 2.0], fmp4=True))
    content_id = register(server, stream_publisher, url)
    m = monitors("a")

    view = wait_for(lambda: (v := stream_view(server, stream_publisher, content_id))["monitor"]["status"]
                    == "ended" and v, 60, "the fMP4 stream to be checked", [m])
    results = notes(view, "c2pa")
    by_segment = {n["segment_url"].rsplit("/", 1)[1]: n["details"] for n in results}
    assert by_segment["seg-0.m4s"]["state"] == "Valid"  # signed per fragment (its signer is not a trust anchor)
    assert by_segment["seg-0.m4s"]["issuer"] == "Media Publisher Company"
    assert by_segment["seg-1.m4s"]["state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in by_segment["seg-1.m4s"]["failure_codes"]
    # Players read the latest fragment's result in the label document.
    assert label(server, content_id)["stream"]["c2pa"]["state"] == "Invalid"


def test_a_refuted_clip_mid_stream_shows_the_refutation_and_monitoring_goes_on(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str], clips: dict[str, Path],
        monitors: Callable[..., Monitor], tmp_path: Path) -> None:
    from tests.e2e.conftest import moderate, sign_file

    signed = sign_file(server, clips["refuted"], f"refuted-{secrets.token_hex(3)}", generator="rumour-gen 1.0")
    refutation = {"zh": "该视频内容不实", "en": "This clip is false", "url": "https://piyao.example/correction/1"}
    moderate(server, signed, "refute", "e2e: the clip spreads a false claim", refutation=refutation)
    folder, durations = cut(tmp_path, clips["innocent"], clips["refuted"])
    url = live_server.add(f"r{secrets.token_hex(3)}", LiveStream(folder, durations))
    content_id = register(server, stream_publisher, url, "ai_presenter")
    m = monitors("a")

    view = wait_for(lambda: (v := stream_view(server, stream_publisher, content_id)) and notes(v, "refuted_match")
                    and v, 90, "a refuted match", [m])
    doc = label(server, content_id)
    assert doc["state"] == "refuted" and doc["refutation"] == refutation
    evidence = notes(view, "refuted_match")[0]
    assert evidence["details"]["match"]["list"] == "refuted" and evidence["details"]["match"]["ref"] == signed
    # A refutation is a notice, not a stop: the monitor keeps watching to the end.
    done = wait_for(lambda: (v := stream_view(server, stream_publisher, content_id))["monitor"]["status"]
                    == "ended" and v, 90, "the stream to end", [m])
    assert done["monitor"]["next_sequence"] == len(durations)


def test_a_moderators_block_stops_the_monitor_and_loopback_needs_the_explicit_setting(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str], clips: dict[str, Path],
        monitors: Callable[..., Monitor], tmp_path: Path) -> None:
    from tests.e2e.conftest import moderate

    folder, durations = cut(tmp_path, clips["long"])
    refused_url = live_server.add(f"o{secrets.token_hex(3)}", LiveStream(folder, durations))
    refused = register(server, stream_publisher, refused_url, "none")
    strict = monitors("strict", AVLABEL_MONITOR_ALLOW_PRIVATE="false")
    view = wait_for(lambda: (v := stream_view(server, stream_publisher, refused)) and notes(v, "playlist_error")
                    and v, 60, "a refused-destination note", [strict])
    note = notes(view, "playlist_error")[0]
    assert "refused by the outbound rules" in note["message"] and "loopback" in note["message"]
    assert not any(p.startswith(refused_url.rsplit("/", 1)[0].replace(live_server.origin, "")) for p in
                   live_server.requests)  # nothing was fetched from loopback
    strict.stop()

    url = live_server.add(f"m{secrets.token_hex(3)}", LiveStream(folder, durations, end=False))
    content_id = register(server, stream_publisher, url, "ai_presenter")
    m = monitors("a")
    wait_for(lambda: stream_view(server, stream_publisher, content_id)["monitor"]["next_sequence"] >= 2, 60,
             "two checked segments", [m])
    moderate(server, content_id, "block", "e2e: the stream breaks the rules")
    view = wait_for(lambda: (v := stream_view(server, stream_publisher, content_id))["monitor"]["status"]
                    == "stopped" and v, 30, "the monitor to stop", [m])
    assert notes(view, "moderator_block") and label(server, content_id)["state"] == "blocked"
    with server.client() as http:  # a stopped stream's declaration is not the publisher's to change any more
        resp = http.patch(f"/v1/streams/{content_id}", json={"declaration": "none"}, headers=stream_publisher)
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "stream_stopped"


def test_a_live_dash_stream_is_followed_and_stopped_on_a_prohibited_clip(
        server: Server, live_server: LiveServer, stream_publisher: dict[str, str], clips: dict[str, Path],
        monitors: Callable[..., Monitor], tmp_path: Path) -> None:
    prohibit(server, clips["prohibited"], f"p_dash_{secrets.token_hex(3)}")
    folder = tmp_path / "dash"
    durations = live_hls.segment_dash([clips["innocent"], clips["prohibited"]], folder)
    url = live_server.add(f"d{secrets.token_hex(3)}", LiveStream(folder, durations, dash=True, end=False))
    assert url.endswith(".mpd")
    content_id = register(server, stream_publisher, url)
    m = monitors("a")

    view = wait_for(lambda: (v := stream_view(server, stream_publisher, content_id))["monitor"]["status"]
                    == "stopped" and v, 90, "the monitor to stop the DASH stream", [m])
    assert view["protocol"] == "dash" and label(server, content_id)["state"] == "blocked"
    evidence = notes(view, "prohibited_match")[0]
    number = int(evidence["segment_url"].rsplit("-", 1)[1].split(".")[0])  # chunk-0-NNNNN.m4s, from 1
    assert number in (4, 5), evidence  # the clip starts with the 4th segment (6 s in)
    assert not notes(view, "segment_error"), view["notes"]  # init + fragment decode as one file
    # The fragments carry no C2PA: said once, as a note, not an error that stops anything.
    c2pa = notes(view, "c2pa")
    assert len(c2pa) == 1 and c2pa[0]["details"]["state"] is None
