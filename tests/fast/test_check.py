"""`POST /v1/check` and `avlabel check`: a file's GB 45438-2025 conformance report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from backend import implicit_label as il
from backend.cli import main
from backend.implicit_label.images import _chunk
from backend.signing.keys import ensure_dev_identity
from tests import media_factory
from tests.backend.casework import auth
from tests.conftest import InProcess


def test_check_reports_present_absent_and_non_compliant_records(in_process: InProcess, tmp_path: Path) -> None:
    plain = media_factory.wav(tmp_path / "plain.wav", 0.2)
    labelled = media_factory.wav(tmp_path / "ai.wav", 0.2)
    il.write(labelled, "audio/wav", il.build_record("1", "gen-co", "p-1"))
    bad = media_factory.png(tmp_path / "bad.png", (32, 32))
    record = {k.replace("ReservedCode1", "ReserveCode1"): v for k, v in il.build_record("1", "g", "p").items()}
    data = bad.read_bytes()
    at = data.index(b"IDAT") - 4  # a tEXt AIGC chunk with a misspelt key, CRC intact
    bad.write_bytes(data[:at] + _chunk(b"tEXt", b"AIGC\x00" + json.dumps(record).encode()) + data[at:])
    with in_process.client() as http:
        absent = http.post("/v1/check", files={"file": ("a.wav", plain.read_bytes())}).json()
        assert absent["implicit_label"]["status"] == "absent" and absent["tier"] == "none"
        assert absent["explicit_label_expected"] is False
        assert "C2PA manifest: none in the file" in absent["missing"]

        present = http.post("/v1/check", files={"file": ("b.wav", labelled.read_bytes())}).json()
        assert present["implicit_label"]["status"] == "present" and present["tier"] == "ai_generated"
        assert present["explicit_label_expected"] is True
        assert any(m.startswith("propagation fields") for m in present["missing"])

        wrong = http.post("/v1/check", files={"file": ("c.png", bad.read_bytes())})
        assert wrong.status_code == 200, wrong.text
        reading = wrong.json()["implicit_label"]
        assert reading["status"] == "non_compliant" and any("misspelt" in r for r in reading["reasons"])
        assert wrong.json()["compliant"] is False

        empty = http.post("/v1/check", files={"other": ("x", b"")})
        assert empty.status_code == 400 and empty.json()["error"]["code"] in ("unexpected_file", "missing_file")


def test_check_verifies_the_services_signature_in_reserved_code_2(in_process: InProcess, tmp_path: Path) -> None:
    ident = ensure_dev_identity(in_process.data_dir / "keys")  # the identity the app signs with
    path = media_factory.flac(tmp_path / "s.flac", 0.2)
    signed = il.sign_record(il.build_record("1", "gen-co", "p-2", "plat", "u-2"), ident.sign)
    il.write(path, "audio/flac", signed)
    forged = media_factory.flac(tmp_path / "f.flac", 0.2)
    il.write(forged, "audio/flac", dict(signed, ProduceID="p-3"))
    with in_process.client() as http:
        good = http.post("/v1/check", files={"file": ("s.flac", path.read_bytes())}).json()
        bad = http.post("/v1/check", files={"file": ("f.flac", forged.read_bytes())}).json()
    assert good["implicit_label"]["signed_by_this_service"] is True
    assert bad["implicit_label"]["signed_by_this_service"] is False


def test_check_of_a_signed_ai_image_reads_its_manifest(in_process: InProcess, tmp_path: Path) -> None:
    path = media_factory.png(tmp_path / "s.png", seed=7)
    with in_process.client() as http, path.open("rb") as fh:
        signed = http.post("/v1/sign", headers=auth(in_process, "publisher"), files={"file": ("s.png", fh)},
                           data={"generator": "fast-gen 1.0"})
        assert signed.status_code == 200, signed.text
        report = http.post("/v1/check", files={"file": ("s.png", signed.content)}).json()
    assert report["c2pa"]["declares_ai"] is True and report["tier"] == "ai_generated"
    # signing writes the record into the PNG's XMP too (it used to sit in the manifest only)
    assert report["implicit_label"]["status"] == "present"
    assert report["implicit_label"]["signed_by_this_service"] is True
    assert not any(m.startswith("implicit label") for m in report["missing"])
    assert report["c2pa"]["validation_state"] in ("Valid", "Trusted")


def test_cli_check_prints_the_report_and_exits_nonzero_when_not_compliant(in_process: InProcess,
                                                                           tmp_path: Path) -> None:
    path = media_factory.flac(tmp_path / "a.flac", 0.2)
    il.write(path, "audio/flac", il.build_record("2", "gen-co", "p-9", "plat", "u-1"))
    result = CliRunner().invoke(main, ["--data-dir", str(in_process.data_dir), "check", str(path)])
    report = json.loads(result.output[result.output.index("{"):])
    assert report["implicit_label"]["status"] == "present" and report["tier"] == "declared_possibly"
    assert result.exit_code == 1  # no C2PA manifest
