"""The stream monitor (`avlabel monitor`): follows registered HLS playlists as they grow and stops
transmission when a segment shows prohibited media.

Work items come from a Redis Stream consumer group (backend/streams/queue.py); the stream row's lease
decides who watches a stream (backend/streams/store.py). For each new segment the monitor fetches it
through backend/outbound.py, samples keyframes and audio windows (sampling.py), looks the hashes up in
the prohibited/refuted lists (the shared fingerprint index), runs the detector suite every
`monitor_detectors_every_seconds` of stream time, and verifies C2PA on fragmented MP4 (fragments.py).
A prohibited picture match blocks the content through the moderation flow (a case, the block, the audit
entries, the label cache, the webhook); a refuted match attaches the refutation. A stalled playlist, a
failing playlist or a missing segment becomes a case note; the monitor keeps going.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import secrets
import socket
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from redis.exceptions import RedisError

from backend import cases, moderation
from backend.outbound import Answer, DestinationRefused, OutboundClient, Policy
from backend.streams import manifests, playlists
from backend.streams.fragments import verify_fragment
from backend.streams.queue import MonitorQueue
from backend.streams.registration import ENDED, STOPPED
from backend.streams.sampling import Sample, Sampler, SegmentError
from backend.streams.store import MonitorStore, Watched
from backend.vocabulary import LabelState, ModerationAction, ReportCategory
from detectors.base import MediaInput
from detectors.pipeline import DetectorSuite

if TYPE_CHECKING:
    from backend.services import Services

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30.0
Decision = tuple[str, cases.ActionRequest]  # (case id, the action the monitor takes on it)


def monitor_policy(services: Services) -> Policy:
    s = services.settings
    return Policy(allow_private=s.monitor_allow_private,
                  allow_http=s.monitor_allow_private or s.environment == "development",
                  timeout=10.0, max_response_bytes=s.monitor_max_segment_bytes)


@dataclass
class Watch:
    """One stream being watched by this worker."""

    stream: Watched
    entry_id: str
    sampler: Sampler
    next_sequence: int
    last_new: float = field(default_factory=time.monotonic)
    stalled: bool = False
    playlist_failures: int = 0
    last_error: str = ""
    next_detectors: float = 0.0
    inits: dict[str, bytes] = field(default_factory=dict)
    soundtrack_noted: set[str] = field(default_factory=set)
    c2pa_state: str | None = "unread"


class StreamMonitor:
    def __init__(self, services: Services, concurrency: int = 4, name: str | None = None) -> None:
        self.services = services
        self.settings = services.settings
        self.concurrency = concurrency
        self.name = name or f"monitor-{socket.gethostname()[:30]}-{os.getpid()}-{secrets.token_hex(2)}"
        self.queue = MonitorQueue(self.settings)
        self.store = MonitorStore(services.db, lease_seconds=self.settings.monitor_claim_idle_seconds * 2 / 3)
        self.client = OutboundClient(monitor_policy(services))
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.stop = asyncio.Event()
        # The detector suite without its fingerprint detector: the sampled hashes are looked up already.
        self.suite = DetectorSuite([d for d in services.detection.suite.detectors if d.name != "fingerprint"])

    # -- the worker loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        log.info("%s watching for streams (concurrency %d)", self.name, self.concurrency)
        next_sweep = 0.0
        while not self.stop.is_set():
            self.tasks = {k: t for k, t in self.tasks.items() if not t.done()}
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + SWEEP_SECONDS
                await self._sweep()
            if len(self.tasks) >= self.concurrency:
                await asyncio.sleep(0.5)
                continue
            try:
                item = await asyncio.to_thread(self.queue.take, self.name)
            except (RedisError, OSError) as exc:
                log.warning("redis unavailable for the monitor (%s); retrying", type(exc).__name__)
                await asyncio.sleep(2.0)
                continue
            if item is None:
                continue
            entry_id, content_id = item
            if content_id in self.tasks:
                continue  # our own entry, reclaimed: we are watching it already
            watched = await asyncio.to_thread(self.store.claim, content_id, self.name)
            if watched is None:
                # Not watched any more, or a live worker holds it: this entry is spent. (If it was the
                # holder's own entry, the sweep adds a new one should the holder die without it.)
                await asyncio.to_thread(self.queue.done, entry_id)
                continue
            log.info("%s watching stream %s from media sequence %d", self.name, content_id, watched.next_sequence)
            self.tasks[content_id] = asyncio.create_task(self.watch(Watch(
                watched, entry_id, Sampler(self.settings.monitor_sample_seconds,
                                           self.settings.monitor_audio_window_seconds),
                watched.next_sequence)))
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        for content_id in list(self.tasks):
            await asyncio.to_thread(self.store.release, content_id, self.name)
        await self.client.aclose()
        self.queue.close()

    async def _sweep(self) -> None:
        try:
            lost = await asyncio.to_thread(lambda: self.queue.sweep(self.store.watching()))
        except (RedisError, OSError) as exc:
            log.warning("monitor sweep skipped (%s)", type(exc).__name__)
            return
        if lost:
            log.info("re-dispatched %d watched stream(s) without a work item", len(lost))

    # -- one stream -----------------------------------------------------------------------------------
    async def watch(self, w: Watch) -> None:
        content_id = w.stream.content_id
        try:
            while not self.stop.is_set():
                outcome = await self._round(w)
                if outcome == "lost":
                    log.info("%s lost stream %s to another monitor", self.name, content_id)
                    return
                if outcome in (ENDED, STOPPED):
                    await asyncio.to_thread(self.store.finish, content_id, outcome)
                    await asyncio.to_thread(self.queue.done, w.entry_id)
                    log.info("%s: stream %s %s", self.name, content_id, outcome)
                    return
                await asyncio.sleep(float(outcome))
        except asyncio.CancelledError:
            raise
        except Exception:
            # Never silently: the stream stays watched and another round (or monitor) picks it up.
            log.exception("monitor round failed for %s", content_id)
            await asyncio.to_thread(self.store.release, content_id, self.name)

    async def _round(self, w: Watch) -> str:
        """One look at the playlist: 'lost', ended/stopped, or the seconds to wait before the next look."""
        content_id = w.stream.content_id
        state = await asyncio.to_thread(self.store.label_state, content_id)
        if state == LabelState.BLOCKED:
            await self._note(w, "moderator_block", "a moderator blocked this stream; transmission stopped and "
                             "monitoring ended")
            return STOPPED
        if not await asyncio.to_thread(self.store.renew, content_id, self.name):
            return "lost"
        await asyncio.to_thread(self._touch, w)
        playlist = await self._playlist(w)
        if playlist is None:
            return self._after_failure(w)
        wait = max(0.5, playlist.target_duration / 2)
        fresh = [s for s in playlist.segments if s.sequence >= w.next_sequence]
        if playlist.segments and playlist.segments[0].sequence > w.next_sequence and w.next_sequence > 0:
            skipped = playlist.segments[0].sequence - w.next_sequence
            await self._note(w, "segments_missed", f"{skipped} segment(s) left the live window before they were "
                             f"checked (media sequence {w.next_sequence} to {playlist.segments[0].sequence - 1})",
                             details={"skipped": skipped})
        for segment in fresh:
            verdict = await self._segment(w, segment)
            if verdict == STOPPED:
                return STOPPED
            w.next_sequence = segment.sequence + 1
            if not await asyncio.to_thread(self.store.progress, content_id, self.name, w.next_sequence,
                                           segment.url, verdict if isinstance(verdict, dict) else None):
                return "lost"
            await asyncio.to_thread(self._touch, w)
        if fresh:
            w.last_new, w.stalled = time.monotonic(), False
        if playlist.ended and not fresh:
            await self._note(w, "ended", f"the playlist ended (#EXT-X-ENDLIST) after media sequence "
                             f"{w.next_sequence - 1}")
            return ENDED
        silent = time.monotonic() - w.last_new
        if w.stream.live and not fresh and silent > self.settings.monitor_stall_seconds and not w.stalled:
            w.stalled = True
            await self._note(w, "stalled", f"the live playlist has not grown for {silent:.0f} s (last media "
                             f"sequence {w.next_sequence - 1}); still watching", segment_url=w.stream.playlist_url)
        if silent > self.settings.monitor_give_up_seconds:
            await self._note(w, "gave_up", f"no new segment for {silent:.0f} s: monitoring ended")
            return ENDED
        return str(wait)

    def _after_failure(self, w: Watch) -> str:
        if time.monotonic() - w.last_new > self.settings.monitor_give_up_seconds:
            return ENDED
        return str(min(30.0, 2.0 * 2 ** min(w.playlist_failures, 4)))

    def _touch(self, w: Watch) -> None:
        try:
            self.queue.touch(w.entry_id, self.name)
        except (RedisError, OSError) as exc:
            log.warning("could not renew the work item of %s (%s)", w.stream.content_id, type(exc).__name__)

    async def _fetch(self, url: str) -> Answer:
        return await self.client.request("GET", url)

    async def _playlist(self, w: Watch) -> playlists.Playlist | None:
        url = w.stream.playlist_url
        for _hop in range(2):  # a master playlist, then its lowest variant
            problem = ""
            try:
                answer = await self._fetch(url)
                if answer.status != 200:
                    problem = f"the playlist answered HTTP {answer.status}"
                else:
                    text = answer.body.decode("utf-8", "replace")
                    parsed = (manifests.parse(text, url) if w.stream.protocol == "dash"
                              else playlists.parse_checked(text, url))
                    if parsed.is_master:
                        url = playlists.lowest_variant(parsed)
                        continue
                    w.playlist_failures = 0
                    w.last_error = ""
                    return parsed
            except DestinationRefused as exc:
                problem = f"the playlist URL is refused by the outbound rules: {exc.message}"
            except (httpx.HTTPError, TimeoutError) as exc:
                problem = f"the playlist could not be fetched ({type(exc).__name__})"
            except playlists.PlaylistError as exc:
                problem = str(exc)
            w.playlist_failures += 1
            if problem != w.last_error:  # one note per distinct problem, not one per retry
                w.last_error = problem
                await self._note(w, "playlist_error", f"{problem}; retrying", segment_url=url,
                                 details={"failures": w.playlist_failures})
            return None
        return None

    async def _segment(self, w: Watch, segment: playlists.Segment) -> str | dict[str, Any] | None:
        """Checks one segment: STOPPED when it blocked the stream, a C2PA result for fMP4, else None."""
        try:
            answer = await self._fetch(segment.url)
            init = await self._init(w, segment.init_url) if segment.init_url else b""
        except DestinationRefused as exc:
            await self._note(w, "segment_error", f"segment {segment.sequence} is refused by the outbound rules: "
                             f"{exc.message}; skipped", segment.url, segment.start)
            return None
        except (httpx.HTTPError, TimeoutError) as exc:
            await self._note(w, "segment_error", f"segment {segment.sequence} could not be fetched "
                             f"({type(exc).__name__}); skipped", segment.url, segment.start)
            return None
        if answer.status != 200:
            await self._note(w, "segment_missing", f"segment {segment.sequence} answered HTTP {answer.status}; "
                             "skipped, the next segments are still checked", segment.url, segment.start,
                             {"status": answer.status, "sequence": segment.sequence})
            return None
        if len(answer.body) >= self.settings.monitor_max_segment_bytes:
            await self._note(w, "segment_error", f"segment {segment.sequence} is larger than "
                             f"{self.settings.monitor_max_segment_bytes} bytes; skipped", segment.url, segment.start)
            return None
        body = init + answer.body
        decision, c2pa_result = await asyncio.to_thread(self._analyse_sync, w, segment, body, init, answer.body)
        if decision is not None:
            case_id, req = decision
            # On this loop: the moderation flow invalidates the shared label cache (an asyncio client).
            await moderation.perform(self.services, case_id, req, "monitor")
            if req.action == ModerationAction.BLOCK:
                return STOPPED
        return c2pa_result

    async def _init(self, w: Watch, url: str) -> bytes:
        if url not in w.inits:
            answer = await self._fetch(url)
            if answer.status != 200:
                raise httpx.HTTPError(f"init segment answered HTTP {answer.status}")
            w.inits = {url: answer.body}  # one init section at a time
        return w.inits[url]

    # -- analysis (in a worker thread) ------------------------------------------------------------------
    def _analyse_sync(self, w: Watch, segment: playlists.Segment, body: bytes, init: bytes,
                      fragment: bytes) -> tuple[Decision | None, dict[str, Any] | None]:
        with tempfile.TemporaryDirectory(prefix="avlabel-monitor-") as tmp:
            path = Path(tmp) / ("segment.mp4" if init else "segment.ts")
            path.write_bytes(body)
            try:
                samples = w.sampler.segment(path, segment.start)
            except SegmentError as exc:
                self.store.note(w.stream.content_id, "segment_error", f"segment {segment.sequence}: {exc}; skipped",
                                segment.url, segment.start)
                return None, None
            decision = self._match(w, segment, samples)
            if decision is not None and decision[1].action == ModerationAction.BLOCK:
                return decision, None
            every = self.settings.monitor_detectors_every_seconds
            if every and segment.start >= w.next_detectors:
                w.next_detectors = segment.start + every
                self._detectors(w, segment, path, body)
        if not init:
            return decision, None
        result = {**verify_fragment(self.services.reader, init, fragment), "segment_url": segment.url,
                  "sequence": segment.sequence, "media_time": segment.start}
        if result.get("state") != w.c2pa_state:  # the first result, and every change (e.g. Valid → Invalid)
            w.c2pa_state = result.get("state")
            codes = result.get("failure_codes") or []
            self.store.note(w.stream.content_id, "c2pa", f"segment {segment.sequence}: C2PA "
                            f"{result.get('state') or 'not present (' + str(result.get('error')) + ')'}"
                            + (f" ({', '.join(codes)})" if codes else ""), segment.url, segment.start, result)
        return decision, result

    def _match(self, w: Watch, segment: playlists.Segment, samples: list[Sample]) -> Decision | None:
        if not samples:
            return None
        found = self.services.fingerprints.lookup_hashes([(s.kind, s.digest) for s in samples])
        pictures = [m for m in found if "pdq" in m["matched_by"]]
        for m in found:
            if "pdq" not in m["matched_by"] and m["ref"] not in w.soundtrack_noted:
                w.soundtrack_noted.add(m["ref"])
                self.store.note(w.stream.content_id, "same_soundtrack", f"the audio near {segment.start:.0f} s "
                                f"matches {m['list']} item {m['ref']} (pictures do not): evidence only",
                                segment.url, segment.start, {"match": _evidence(m)})
        prohibited = next((m for m in pictures if m["list"] == "prohibited"), None)
        if prohibited is not None:
            return self._block(w, segment, prohibited)
        refuted = next((m for m in pictures if m["list"] == "refuted"), None)
        if refuted is not None:
            return self._refute(w, segment, refuted)
        return None

    def _block(self, w: Watch, segment: playlists.Segment, match: dict[str, Any]) -> Decision:
        content_id = w.stream.content_id
        message = (f"segment {segment.sequence} at {segment.start:.1f} s matches prohibited item {match['ref']} "
                   f"(PDQ distance {match['distance']}, {match['bits_differing']} bits): transmission stopped")
        case_id = self.store.note(content_id, "prohibited_match", message, segment.url, segment.start,
                                  {"match": _evidence(match), "sequence": segment.sequence},
                                  category=ReportCategory.ILLEGAL)
        req = cases.ActionRequest(ModerationAction.BLOCK, f"stream monitor: {message} ({segment.url})"[:4000],
                                  public_statement=(match.get("note") or {}).get("public_statement"))
        return case_id, req

    def _refute(self, w: Watch, segment: playlists.Segment, match: dict[str, Any]) -> Decision | None:
        if self.store.label_state(w.stream.content_id) == LabelState.REFUTED:
            return None
        note = match.get("note") or {}
        message = (f"segment {segment.sequence} at {segment.start:.1f} s matches refuted item {match['ref']} "
                   f"(PDQ distance {match['distance']}): the refutation is shown")
        case_id = self.store.note(w.stream.content_id, "refuted_match", message, segment.url, segment.start,
                                  {"match": _evidence(match), "sequence": segment.sequence},
                                  category=ReportCategory.RUMOUR)
        refutation = {k: note.get(k) for k in ("zh", "en", "url")}
        if not refutation.get("url"):
            return None  # a refuted item without its correction: the note stands, nothing to show
        return case_id, cases.ActionRequest(ModerationAction.REFUTE,
                                            f"stream monitor: {message} ({segment.url})"[:4000], refutation=refutation)

    def _detectors(self, w: Watch, segment: playlists.Segment, path: Path, body: bytes) -> None:
        mime = "video/mp4"
        found = self.suite.run(MediaInput(path, mime, hashlib.sha256(body).hexdigest()))
        scores = {s.detector: s.score for s in found.signals if s.kind != "fingerprint"}
        likely = {k: v for k, v in scores.items() if v >= 0.5}
        if likely:
            self.store.note(w.stream.content_id, "detector_signal", f"segment {segment.sequence}: detectors "
                            f"score it as likely synthetic ({', '.join(f'{k} {v:.2f}' for k, v in likely.items())})",
                            segment.url, segment.start, {"scores": scores, "errors": found.errors})

    async def _note(self, w: Watch, kind: str, message: str, segment_url: str | None = None,
                    media_time: float | None = None, details: dict[str, Any] | None = None) -> None:
        await asyncio.to_thread(self.store.note, w.stream.content_id, kind, message, segment_url, media_time,
                                details)


def _evidence(match: dict[str, Any]) -> dict[str, Any]:
    return {k: match.get(k) for k in ("list", "ref", "kind", "distance", "bits_differing", "matched_by")}
