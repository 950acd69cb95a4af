"""A viewer's complaint about an unsigned picture on a page (no manifest, not in the registry): a moderator
blocks it, and the open page's player covers it without a reload (Provisions Art. 11-12)."""

from __future__ import annotations

import hashlib
import io
import secrets
from pathlib import Path

import pytest
from PIL import Image

from tests import media_factory
from tests.backend.casework import act, report
from tests.conftest import Server
from tests.e2e.conftest import PageHost, wait_state
from tests.e2e.measure import visible

pytestmark = pytest.mark.browser


def test_moderator_blocks_a_reported_unsigned_image_and_the_player_shows_it_blocked(
        pages: PageHost, server: Server, tmp_path: Path) -> None:
    path = media_factory.png(tmp_path / "unsigned.png", size=(480, 320), seed=9090)
    blob = path.read_bytes()
    with Image.open(io.BytesIO(blob)) as img:
        assert "xmp" not in img.info  # unsigned, unlabelled
    url = pages.add(f"/e2e/unsigned-{secrets.token_hex(4)}.png", blob, ctype="image/png")  # type: ignore[arg-type]
    page = pages.open(f'<img id="i" src="{url}" width="480" height="320" alt="upload" data-avlabel="auto">')
    wait_state(page, "#i", "unknown")
    assert not visible(page, "#i", ".cover")
    with server.client() as http:
        case_id = report(http, media_url=url, sha256=hashlib.sha256(blob).hexdigest(),
                         category="unlabelled_ai").json()["case_id"]
        done = act(http, server, case_id, "block", public_statement="Removed: unlabelled synthetic picture")
        assert done.status_code == 201, done.text
    wait_state(page, "#i", "blocked", timeout=15_000)  # the plugin's 5 s poll picks the decision up
    assert visible(page, "#i", ".cover")
    cover = page.evaluate("window.__avl('#i').q('.cover').textContent")
    assert "This content has been removed" in cover and "unlabelled synthetic picture" in cover
