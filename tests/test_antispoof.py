"""The operator-supplied anti-spoofing cue, run on real ONNX models built here and installed through a
KYC_MODEL_DIR overlay: crop geometry, what the model is fed, what the stage does with its answer, and
the errors an unusable model raises.

The toy models follow the MiniFASNet interface (1x3x80x80 float in, 1x3 logits out, class 1 = real):
logits are [0, w . m + b, 0] where m holds the normalised crop's channel means, so every expected
probability follows from the crop the test chose.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from kycengine import video
from kycengine.errors import ModelUnavailable
from kycengine.liveness import LivenessChecker
from kycengine.liveness.antispoof import CROP_SCALE, MODEL_ID, crop_box, get_antispoof
from kycengine.models import Registry
from kycengine.reasons import Reason
from kycengine.schema import LivenessEvidence, StageState
from kycengine.settings import Settings
from kycengine.synth.selfie_video import make_selfie_video
from tests.support import reasons_of

SIZE, FPS, SECONDS = (480, 360), 10, 4.0
WIDTH, HEIGHT = SIZE
CLASSES, REAL = 3, 1  # the MiniFASNet interface: three logits, class 1 is the live face
NORM = 127.5  # the overlay's mean and std: pixel values 0-255 reach the model as -1..1
GREY = (1 / 3, 1 / 3, 1 / 3)  # 'real' logit weights: the crop's mean brightness
SURE = 20.0  # a bias no brightness can overturn (the weighted mean stays within -1..1)
ENTRY = """[[model]]
id = "{id}"
task = "face_antispoof"
backend = "onnxruntime"
package = ""
version = ""
module = ""
file = "minifasnet.onnx"
sha256 = "{sha256}"
licence = "test model"
input = {{ layout = "NCHW", colour = "{colour}", size = [80, 80], mean = {norm}, std = {norm} }}
"""


def toy_model(weights: Sequence[float] = GREY, bias: float = 0.0,
              input_shape: Sequence[int | str] = (1, 3, 80, 80), classes: int = CLASSES,
              batch: int | str = 1) -> bytes:
    """Serialised ONNX: logits [0, weights . channel means + bias, 0] (`classes` of them; one weight
    per input channel)."""
    mix = np.zeros((len(weights), classes), np.float32)
    mix[:, REAL] = weights
    offset = np.zeros(classes, np.float32)
    offset[REAL] = bias
    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["input"], ["means"], axes=[2, 3], keepdims=0),
         helper.make_node("Gemm", ["means", "mix", "offset"], ["logits"])],
        "toy_minifasnet",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, classes])],
        [numpy_helper.from_array(mix, "mix"), numpy_helper.from_array(offset, "offset")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    onnx.checker.check_model(model)
    return model.SerializeToString()


def install(folder: Path, model: bytes | None, *, sha256: str | None = None, colour: str = "BGR") -> Registry:
    """Put `model` (None: no file) and its manifest entry in `folder`; the registry that sees them."""
    folder.mkdir()
    if model is not None:
        (folder / "minifasnet.onnx").write_bytes(model)
    digest = sha256 or hashlib.sha256(model or b"").hexdigest()
    (folder / "manifest.toml").write_text(ENTRY.format(id=MODEL_ID, sha256=digest, colour=colour, norm=NORM))
    return Registry.load(model_dir=folder)


def expected_real(means: Sequence[float], weights: Sequence[float] = GREY, bias: float = 0.0) -> float:
    """Softmax 'real' probability of the toy model for normalised channel means `means`."""
    logit = float(np.dot(weights, means)) + bias
    return math.exp(logit) / (math.exp(logit) + CLASSES - 1)


def normalised(pixel: float) -> float:
    """A pixel value as the model receives it under the overlay's mean and std."""
    return (pixel - NORM) / NORM


# Crop geometry

def test_crop_is_the_box_scaled_about_its_centre() -> None:
    box = np.array([200.0, 150.0, 240.0, 200.0])
    left, top, right, bottom = crop_box(box, WIDTH, HEIGHT)
    assert right - left == pytest.approx(40 * CROP_SCALE, abs=1.01)
    assert bottom - top == pytest.approx(50 * CROP_SCALE, abs=1.01)
    assert (left + right) / 2 == pytest.approx(220, abs=1.01)
    assert (top + bottom) / 2 == pytest.approx(175, abs=1.01)


@pytest.mark.parametrize("box", [(-10.0, 5.0, 50.0, 80.0), (440.0, 290.0, 478.0, 365.0),
                                 (5.0, 280.0, 65.0, 355.0)],
                         ids=["top_left_outside", "bottom_right_outside", "bottom_left"])
def test_crop_near_the_border_is_shifted_inside_not_shrunk(box: tuple[float, ...]) -> None:
    x1, y1, x2, y2 = box
    width, height = x2 - x1, y2 - y1
    left, top, right, bottom = crop_box(np.array(box), WIDTH, HEIGHT)
    middle = crop_box(np.array([200.0, 150.0, 200.0 + width, 150.0 + height]), WIDTH, HEIGHT)
    assert 0 <= left < right <= WIDTH and 0 <= top < bottom <= HEIGHT
    assert right - left == pytest.approx(middle[2] - middle[0], abs=1)  # pixel rounding only
    assert bottom - top == pytest.approx(middle[3] - middle[1], abs=1)
    assert left == 0 or right == WIDTH  # pushed against a vertical border ...
    assert top == 0 or bottom == HEIGHT  # ... and a horizontal one
    assert left <= max(x1, 0) and right >= min(x2, WIDTH) and top <= max(y1, 0) and bottom >= min(y2, HEIGHT)


def test_crop_shrinks_to_the_frame_when_the_scaled_box_cannot_fit() -> None:
    box = np.array([150.0, 60.0, 330.0, 300.0])  # 180x240: 2.7 times would not fit 480x360
    left, top, right, bottom = crop_box(box, WIDTH, HEIGHT)
    assert 0 <= left and right <= WIDTH and 0 <= top and bottom <= HEIGHT
    assert bottom - top >= HEIGHT - 1  # as large as the frame allows ...
    assert (right - left) / (bottom - top) == pytest.approx(180 / 240, abs=0.01)  # ... with the box's shape
    assert left <= 150 and right >= 330 and top <= 60 and bottom >= 300


# What the model is fed

def test_model_sees_exactly_the_crop(tmp_path: Path) -> None:
    """A frame bright exactly where the crop falls (face near the border) reads fully bright; its
    negative reads fully dark: nothing of the rest of the frame reaches the model, nothing is missed."""
    antispoof = get_antispoof(install(tmp_path / "models", toy_model(weights=(1.0, 1.0, 1.0))))
    assert antispoof is not None
    box = np.array([430.0, 10.0, 470.0, 60.0])
    left, top, right, bottom = crop_box(box, WIDTH, HEIGHT)
    inside = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    inside[top:bottom, left:right] = 255
    bright = antispoof.real_probability(inside, box)
    dark = antispoof.real_probability(255 - inside, box)
    assert bright == pytest.approx(expected_real([1.0] * 3, (1.0, 1.0, 1.0)), abs=1e-5)
    assert dark == pytest.approx(expected_real([-1.0] * 3, (1.0, 1.0, 1.0)), abs=1e-5)
    assert bright > 0.5 > dark


@pytest.mark.parametrize("level", [0, 64, 200, 255])
def test_probability_follows_the_manifest_normalisation(tmp_path: Path, level: int) -> None:
    weights = (2.0, 2.0, 2.0)
    antispoof = get_antispoof(install(tmp_path / "models", toy_model(weights=weights, bias=-1.0)))
    assert antispoof is not None
    frame = np.full((HEIGHT, WIDTH, 3), level, np.uint8)
    probability = antispoof.real_probability(frame, np.array([200.0, 150.0, 240.0, 200.0]))
    assert probability == pytest.approx(expected_real([normalised(level)] * 3, weights, -1.0), abs=1e-5)


@pytest.mark.parametrize("colour", ["BGR", "RGB"])
def test_channel_order_follows_the_manifest(tmp_path: Path, colour: str) -> None:
    """A model that tells the first channel from the third, shown a blue frame."""
    weights = (1.0, 0.0, -1.0)
    antispoof = get_antispoof(install(tmp_path / "models", toy_model(weights=weights), colour=colour))
    assert antispoof is not None
    blue = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    blue[..., 0] = 255  # frames are BGR
    means = [normalised(255), normalised(0), normalised(0)]  # B, G, R
    fed = means if colour == "BGR" else means[::-1]
    probability = antispoof.real_probability(blue, np.array([200.0, 150.0, 240.0, 200.0]))
    assert probability == pytest.approx(expected_real(fed, weights), abs=1e-5)


def test_open_batch_dimension_is_accepted(tmp_path: Path) -> None:
    model = toy_model(input_shape=("batch", 3, 80, 80), batch="batch", bias=1.0)
    antispoof = get_antispoof(install(tmp_path / "models", model))
    assert antispoof is not None
    frame = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    probability = antispoof.real_probability(frame, np.array([200.0, 150.0, 240.0, 200.0]))
    assert probability == pytest.approx(expected_real([normalised(128)] * 3, GREY, 1.0), abs=1e-5)


# The stage on a live selfie

@pytest.fixture(scope="module")
def live_selfie(tmp_path_factory: pytest.TempPathFactory) -> video.Video:
    path = tmp_path_factory.mktemp("antispoof") / "live.mp4"
    make_selfie_video(path, person="astronaut", variant="live", seed=3, size=SIZE, fps=FPS, seconds=SECONDS)
    settings = Settings()
    return video.decode(path, max_side=settings.max_side, target_fps=settings.selfie_fps)


@pytest.fixture(scope="module")
def without_model(live_selfie: video.Video, tmp_path_factory: pytest.TempPathFactory) -> LivenessEvidence:
    """The live selfie assessed with an empty operator folder: the cue is skipped."""
    checker = LivenessChecker(Registry.load(model_dir=tmp_path_factory.mktemp("no_models")), Settings())
    assert MODEL_ID not in checker.model_ids
    return checker.assess(live_selfie)


def _assess(folder: Path, model: bytes, selfie: video.Video) -> tuple[LivenessChecker, LivenessEvidence]:
    checker = LivenessChecker(install(folder, model), Settings())
    return checker, checker.assess(selfie)


def test_without_the_model_the_selfie_is_live_and_the_cue_skipped(without_model: LivenessEvidence) -> None:
    assert without_model.live is True, (reasons_of(without_model), without_model.scores)
    assert "antispoof_real" not in without_model.scores
    assert "cue skipped: antispoof" in without_model.note


def test_real_model_keeps_a_live_selfie_live(tmp_path: Path, live_selfie: video.Video) -> None:
    checker, evidence = _assess(tmp_path / "models", toy_model(bias=SURE), live_selfie)
    assert MODEL_ID in checker.model_ids
    assert evidence.state is StageState.COMPLETE
    assert evidence.live is True and reasons_of(evidence) == (), (reasons_of(evidence), evidence.scores)
    assert evidence.thresholds["antispoof_real"] == Settings().liveness_antispoof_min_real
    assert evidence.scores["antispoof_real"] >= round(expected_real([-1.0] * 3, GREY, SURE), 4)
    assert "antispoof" not in evidence.note


def test_spoof_model_refuses_an_otherwise_live_selfie(tmp_path: Path, live_selfie: video.Video,
                                                      without_model: LivenessEvidence) -> None:
    checker, evidence = _assess(tmp_path / "models", toy_model(bias=-SURE), live_selfie)
    assert MODEL_ID in checker.model_ids
    assert evidence.live is False
    assert Reason.FACE_NOT_LIVE in reasons_of(evidence), reasons_of(evidence)
    assert evidence.scores["antispoof_real"] <= round(expected_real([1.0] * 3, GREY, -SURE), 4)
    assert evidence.scores["antispoof_real"] < evidence.thresholds["antispoof_real"]
    # Every other cue reads as without the model: the refusal is the model's.
    others = {k: v for k, v in evidence.scores.items() if k not in ("antispoof_real", "liveness_ms")}
    assert others == {k: v for k, v in without_model.scores.items() if k != "liveness_ms"}


# Unusable models fail when the stage is built

@pytest.mark.parametrize(("sha256", "with_file", "problem"), [
    ("0" * 64, True, "does not match its sha256"),
    (None, False, "is missing"),
], ids=["altered", "missing"])
def test_unusable_operator_model_fails_loudly(tmp_path: Path, sha256: str | None, with_file: bool,
                                              problem: str) -> None:
    registry = install(tmp_path / "models", toy_model() if with_file else None, sha256=sha256)
    with pytest.raises(ModelUnavailable, match=problem) as raised:
        LivenessChecker(registry, Settings())
    assert MODEL_ID in raised.value.message and "$KYC_MODEL_DIR" in raised.value.message


@pytest.mark.parametrize(("shape", "found"), [
    ({"input_shape": (1, 3, 64, 64)}, "[1, 3, 64, 64]"),
    ({"input_shape": (1, 1, 80, 80), "weights": (1.0,)}, "[1, 1, 80, 80]"),
    ({"classes": 2}, "[1, 2]"),
], ids=["input_64x64", "one_channel", "two_classes"])
def test_model_with_the_wrong_interface_is_refused_at_load(tmp_path: Path, shape: dict, found: str) -> None:
    registry = install(tmp_path / "models", toy_model(**shape))
    with pytest.raises(ModelUnavailable, match=r"needs one tensor\(float\) input \[1, 3, 80, 80\]") as raised:
        LivenessChecker(registry, Settings())
    assert found in raised.value.message and "$KYC_MODEL_DIR" in raised.value.message
