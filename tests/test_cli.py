"""The `kyc` command as a user meets it: clear one-line errors, JSON output, nothing fetched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from .conftest import ROOT, run_kyc


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad")
    (folder / "empty.mp4").write_bytes(b"")
    (folder / "notes.mp4").write_text("this is a text file, not a video\n" * 10)
    cv2.imwrite(str(folder / "photo.jpg"), np.full((64, 64, 3), 128, np.uint8))
    return {"missing": folder / "absent.mp4", "empty": folder / "empty.mp4",
            "text": folder / "notes.mp4", "image": folder / "photo.jpg"}


def _one_line_error(done: subprocess.CompletedProcess[str], fragment: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kyc: error:"), done.stderr
    assert fragment in lines[0] and "Traceback" not in done.stderr


@pytest.mark.parametrize("which,fragment", [
    ("missing", "no such file"), ("empty", "empty file"), ("text", "not a readable image or video"),
])
def test_mrz_on_bad_files_is_one_line_error(bad_inputs: dict[str, Path], which: str, fragment: str) -> None:
    _one_line_error(run_kyc("mrz", str(bad_inputs[which])), fragment)


def test_mrz_on_an_image_without_mrz_says_so(bad_inputs: dict[str, Path]) -> None:
    done = run_kyc("mrz", str(bad_inputs["image"]), "--json")
    assert done.returncode == 1 and json.loads(done.stdout) == {"found": False}


def test_mrz_json_on_specimen(specimens: Path) -> None:
    done = run_kyc("mrz", str(specimens / "icao-passport-td3.jpg"), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["valid"] and data["format"] == "td3" and data["fields"]["surname"] == "ERIKSSON"


@pytest.mark.parametrize("which,fragment", [
    ("missing", "no such file"), ("empty", "empty file"), ("text", "not a readable video"),
    ("image", "still image, not a video"),
])
def test_verify_with_unusable_video_is_an_operator_error(bad_inputs: dict[str, Path], which: str,
                                                         fragment: str, tmp_path: Path) -> None:
    """A file the operator named that is missing or no video: exit 2 and one line, not a verdict
    blaming the customer's capture."""
    _one_line_error(run_kyc("verify", "--document", str(bad_inputs[which]), "--selfie",
                            str(bad_inputs[which]), "--json"), fragment)


def test_verify_names_the_unusable_one_of_two_files(bad_inputs: dict[str, Path], tmp_path: Path) -> None:
    from kycengine.synth import make_selfie_video

    selfie = tmp_path / "selfie.mp4"
    make_selfie_video(selfie, person="astronaut", variant="live", seed=1, size=(320, 240), fps=10, seconds=1.0)
    _one_line_error(run_kyc("verify", "--document", str(bad_inputs["text"]), "--selfie", str(selfie)),
                    "notes.mp4: not a readable video")


def test_output_into_a_closed_pipe_ends_quietly(specimens: Path) -> None:
    done = subprocess.run(f"{sys.executable} -m kycengine mrz {specimens / 'icao-passport-td3.jpg'} --json | head -c 10",
                          shell=True, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout == "{\n  \"found\""[:10] and done.stderr == "", done.stderr
    listing = subprocess.run(f"{sys.executable} -m kycengine reasons --json | head -n 2", shell=True, cwd=ROOT,
                             capture_output=True, text=True, timeout=120)
    assert listing.stdout.splitlines() == ["[", "  {"] and listing.stderr == "", listing.stderr


def test_reasons_lists_every_code_with_effect_and_texts() -> None:
    done = run_kyc("reasons", "--json")
    assert done.returncode == 0, done.stderr
    rows = {r["code"]: r for r in json.loads(done.stdout)}
    assert rows["document_blurry"]["effect"] == "retry" and rows["face_print"]["effect"] == "refuse"
    assert rows["mrz_inconsistent"]["policy"] and rows["document_damaged"]["customer_fr"]


def test_bad_arguments_exit_non_zero() -> None:
    assert run_kyc("verify", "--document", "x.mp4").returncode == 2
    assert run_kyc("synth", "document", "/tmp/x.mp4", "--size", "huge").returncode == 2
    _one_line_error(run_kyc("synth", "document", "/tmp/kyc-x.mp4", "--variant", "nope"), "nope")
    _one_line_error(run_kyc("synth", "document", "/tmp/kyc-x.mp4", "--fps", "5", "--seconds", "0.2"),
                    "fewer than 2 frames")


@pytest.mark.slow
def test_main_job_and_models_run_with_networking_disabled(tmp_path: Path) -> None:
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-n", "true"]).returncode != 0:
        pytest.skip("unshare -n is not permitted here")
    offline = ("unshare", "-n")
    models = run_kyc("models", prefix=offline)
    assert models.returncode == 0, models.stderr
    assert "MISSING" not in models.stdout and "verified" in models.stdout
    sample = run_kyc("synth", "sample", str(tmp_path), "--size", "640x360", "--fps", "15",
                     prefix=offline)
    assert sample.returncode == 0, sample.stderr
    verdict = run_kyc("verify", "--document", str(tmp_path / "document.mp4"),
                      "--selfie", str(tmp_path / "selfie.mp4"), "--json", prefix=offline)
    assert verdict.returncode == 0, verdict.stderr
    data = json.loads(verdict.stdout)
    assert data["status"] in {"approved", "manual_review"}  # never refused on a genuine sample
    assert data["document"]["fields"]["surname"]


def test_compare_faces_json_and_faceless_image(tmp_path: Path, bad_inputs: dict[str, Path]) -> None:
    from kycengine.synth import faces

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    cv2.imwrite(str(a), faces.load_face("astronaut").image)
    cv2.imwrite(str(b), faces.portrait("astronaut", (160, 200)))
    done = run_kyc("compare-faces", str(a), str(b), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["decision"] == "match" and data["backend"] == "insightface" and data["score"] > 0.5
    _one_line_error(run_kyc("compare-faces", str(a), str(bad_inputs["image"])), "image B")


def test_liveness_json_contract(tmp_path: Path) -> None:
    from kycengine.synth import make_selfie_video

    video = tmp_path / "still.mp4"
    make_selfie_video(video, person="astronaut", variant="still", seed=1, size=(480, 360), fps=10,
                      seconds=3.0)
    done = run_kyc("liveness", str(video), "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["live"] is False and "face_not_live" in data["reasons"]
    assert isinstance(data["scores"], dict) and data["scores"]


def test_every_synth_option_is_honoured_or_refused(tmp_path: Path) -> None:
    small = ("--size", "320x240", "--fps", "10", "--seconds", "0.5")
    done = run_kyc("synth", "document", str(tmp_path / "d.mp4"), "--person", "team_b", *small, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["holder_person"] == "team_b"
    done = run_kyc("synth", "sample", str(tmp_path / "s"), "--person", "yaoming", "--hard",
                   "--document-variant", "expired", "--selfie-variant", "still", "--type", "passport", *small,
                   "--json")
    assert done.returncode == 0, done.stderr
    labels = json.loads(done.stdout)
    document, selfie = labels["document.mp4"], labels["selfie.mp4"]
    assert (document["holder_person"], document["hard"], document["variant"], document["document_type"],
            document["frame_count"]) == ("yaoming", True, "expired", "passport", 5)
    assert (selfie["variant"], selfie["hard"], selfie["frame_count"]) == ("still", True, 5)
    _one_line_error(run_kyc("synth", "sample", str(tmp_path / "t"), "--variant", "screen"),
                    "--variant does not apply (use --document-variant / --selfie-variant)")
    _one_line_error(run_kyc("synth", "selfie", str(tmp_path / "x.mp4"), "--type", "passport"),
                    "--type does not apply")
    _one_line_error(run_kyc("synth", "document", str(tmp_path / "y.mp4"), "--selfie-variant", "live"),
                    "--selfie-variant does not apply")
