"""Issue 15: the HLS playlists the monitor follows (fast layer), and the outbound rule that keeps it off
loopback and private addresses unless the explicit setting allows them."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from backend.outbound import DestinationRefused, OutboundClient
from backend.settings import Settings
from backend.streams import playlists


def test_a_live_window_keeps_its_media_sequence_and_the_init_section() -> None:
    text = ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:40\n#EXT-X-MAP:URI=\"init.mp4\"\n"
            "#EXTINF:2.000,\nseg-40.m4s\n#EXTINF:2.000,\nhttps://cdn.example/other/seg-41.m4s\n")
    p = playlists.parse(text, "https://cdn.example/live/a/index.m3u8")
    assert [s.sequence for s in p.segments] == [40, 41] and not p.ended
    assert p.segments[0].url == "https://cdn.example/live/a/seg-40.m4s"
    assert p.segments[0].init_url == "https://cdn.example/live/a/init.mp4"
    assert p.segments[0].start == 80.0 and p.segments[1].start == 82.0
    assert playlists.parse(text + "#EXT-X-ENDLIST\n", "https://cdn.example/x.m3u8").ended


def test_a_master_playlist_is_followed_through_its_lowest_variant() -> None:
    text = ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=2500000,RESOLUTION=1280x720\nhi/index.m3u8\n"
            "#EXT-X-STREAM-INF:BANDWIDTH=400000,CODECS=\"avc1.4d401e,mp4a.40.2\"\nlo/index.m3u8\n")
    p = playlists.parse(text, "https://cdn.example/live/master.m3u8")
    assert p.is_master and playlists.lowest_variant(p) == "https://cdn.example/live/lo/index.m3u8"


@pytest.mark.parametrize("text", ["", "<html>not a playlist</html>", "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:abc\n",
                                  "#EXTM3U\n#EXTINF:two,\nseg.ts\n"])
def test_what_is_not_a_playlist_is_a_clear_error(text: str) -> None:
    with pytest.raises(playlists.PlaylistError):
        playlists.parse_checked(text, "https://cdn.example/a.m3u8")


def test_loopback_and_private_playlists_are_refused_unless_the_explicit_setting_allows_them(tmp_path: Path) -> None:
    from backend.streams.monitor import monitor_policy

    class Holder:
        settings = Settings(data_dir=tmp_path)  # development, monitor_allow_private left at its default

    policy = monitor_policy(Holder())  # type: ignore[arg-type]
    assert not policy.allow_private

    async def get(url: str) -> None:
        client = OutboundClient(policy)
        try:
            await client.request("GET", url)
        finally:
            await client.aclose()

    def fetch(url: str) -> None:
        # In a thread of its own: a browser test earlier in the session may hold this thread's event loop.
        with ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, get(url)).result()

    with pytest.raises(DestinationRefused, match="loopback"):
        fetch("http://127.0.0.1:9/live/index.m3u8")
    with pytest.raises(DestinationRefused, match="private"):
        fetch("http://10.1.2.3/live/index.m3u8")
    with pytest.raises(DestinationRefused, match="metadata"):
        fetch("http://169.254.169.254/latest/index.m3u8")
    Holder.settings = Settings(data_dir=tmp_path, monitor_allow_private=True)
    assert monitor_policy(Holder()).allow_private  # type: ignore[arg-type]


MPD = """<?xml version="1.0"?><MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="%s" minimumUpdatePeriod="PT2S">
<BaseURL>media/</BaseURL><Period id="0"><AdaptationSet contentType="audio"><Representation id="a" bandwidth="1">
<SegmentTemplate media="a-$Number$.m4s" initialization="a-init.m4s"/></Representation></AdaptationSet>
<AdaptationSet contentType="video"><SegmentTemplate timescale="90000" initialization="$RepresentationID$/init.mp4"
 media="$RepresentationID$/$Number%%05d$-$Time$.m4s" startNumber="7"><SegmentTimeline><S t="180000" d="180000" r="1"/>
 <S d="90000"/></SegmentTimeline></SegmentTemplate>
<Representation id="hi" bandwidth="3000000"/><Representation id="lo" bandwidth="300000"/></AdaptationSet>
</Period></MPD>"""


def test_a_dash_manifest_is_followed_through_its_lowest_video_representation() -> None:
    from backend.streams import manifests

    p = manifests.parse(MPD % "dynamic", "https://cdn.example/live/x/manifest.mpd")
    assert not p.ended and p.target_duration == 1.0
    assert [(s.sequence, s.start, s.duration) for s in p.segments] == [(7, 2.0, 2.0), (8, 4.0, 2.0), (9, 6.0, 1.0)]
    assert p.segments[0].url == "https://cdn.example/live/x/media/lo/00007-180000.m4s"
    assert p.segments[0].init_url == "https://cdn.example/live/x/media/lo/init.mp4"
    assert manifests.parse(MPD % "static", "https://cdn.example/m.mpd").ended
    for hostile in ('<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY a "aaaa">]><MPD>&a;</MPD>', "<MPD><Period/>",
                    "not xml", '<MPD type="dynamic"><Period><AdaptationSet contentType="video"><Representation '
                    'id="v" bandwidth="1"><SegmentTemplate media="$Number$.m4s" duration="2"/></Representation>'
                    "</AdaptationSet></Period></MPD>"):
        with pytest.raises(playlists.PlaylistError):
            manifests.parse(hostile, "https://cdn.example/m.mpd")
