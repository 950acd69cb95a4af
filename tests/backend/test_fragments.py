"""Issue 12, item 5: C2PA in fragmented MP4 verified server-side with c2pa's fragment reader. The init
segment alone fails its BMFF hash; init + the signed fragment validates; a changed fragment is tampered."""

from __future__ import annotations

import pytest

from tests.conftest import FIXTURES, Api

pytestmark = pytest.mark.needs_shared()


def post(api: Api, body: bytes) -> tuple[int, dict[str, object]]:
    with api.client() as http:
        resp = http.post("/v1/verify/fragment", files={"file": ("segment.mp4", body)})
    return resp.status_code, resp.json()


def test_init_plus_fragment_verifies_and_a_changed_fragment_is_tampered(api: Api) -> None:
    init = (FIXTURES / "dashinit.mp4").read_bytes()
    fragment = (FIXTURES / "dash1.m4s").read_bytes()
    status, good = post(api, init + fragment)
    assert status == 200, good
    # Signed by c2pa's test credentials: valid, but not under this service's trust list.
    assert good["verdict"] == "signed_untrusted" and good["c2pa_state"] == "Valid"
    assert good["failure_codes"] == ["signingCredential.untrusted"]
    assert good["init_bytes"] == len(init) and good["fragment_bytes"] == len(fragment)
    assert isinstance(good["manifest"], dict)

    changed = bytearray(fragment)
    changed[len(changed) // 2] ^= 0xFF
    status, bad = post(api, init + bytes(changed))
    assert status == 200, bad
    assert bad["verdict"] == "tampered" and "assertion.bmffHash.mismatch" in bad["failure_codes"]  # type: ignore[operator]


@pytest.mark.parametrize("case", ["init_only", "fragment_only", "not_mp4", "truncated"])
def test_what_is_not_init_plus_fragment_is_a_clear_400(api: Api, case: str) -> None:
    init = (FIXTURES / "dashinit.mp4").read_bytes()
    fragment = (FIXTURES / "dash1.m4s").read_bytes()
    body = {"init_only": init, "fragment_only": fragment, "not_mp4": b"\x00\x00\x00\x08junk" * 10,
            "truncated": init[:50]}[case]
    status, answer = post(api, body)
    assert status == 400, answer
    assert answer["error"]["code"] == "not_fragmented_mp4"  # type: ignore[index]
