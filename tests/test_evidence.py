"""Evidence images for people: the store's allow-list, limits and confinement on a real Redis
(workers.evidence), the engine's picks (kycengine.evidence), and the worker keeping them beside the
verdict, out of every webhook, until retention or a consent withdrawal deletes them."""

from __future__ import annotations

import base64
import dataclasses
import json
import shutil
import time
from typing import Any

import cv2
import numpy as np
import pytest

from kycengine import evidence as engine_evidence
from kycengine.document.analyser import CARD_PX_PER_MM
from kycengine.document.layout import LAYOUTS
from kycengine.document.types import DocumentType
from kycengine.errors import InvalidInput, PathNotAllowed
from kycengine.pipeline import _evidence_images
from kycengine.schema import DocumentEvidence, StageState, Verdict, VerificationRequest
from tests.workers_support import CONSENT, Env, ScriptedVerifier
from workers import evidence, identity, retention
from workers.enqueue import result, submit
from workers.evidence import EVIDENCE_NAMES, EvidenceNotFound, InvalidEvidence


def _jpeg(seed: int, side: int = 64) -> bytes:
    """A small real JPEG (noise, so that two seeds give two different files)."""
    pixels = np.random.default_rng(seed).integers(0, 255, (side, side, 3), dtype=np.uint8)
    ok, data = cv2.imencode(".jpg", pixels, [cv2.IMWRITE_JPEG_QUALITY, 80])
    assert ok
    return data.tobytes()


def test_save_read_names_purge_round_trip(env: Env) -> None:
    case = env.cid("ev-1")
    images = {"selfie_blink": _jpeg(1), "document": _jpeg(2), "portrait": _jpeg(3)}
    stored = evidence.save(env.config, env.redis, case, 1, images)
    assert stored == ["document", "portrait", "selfie_blink"]  # display order, not the mapping's
    assert evidence.names(env.config, env.redis, case, 1) == stored
    for name, data in images.items():
        assert evidence.read(env.config, env.redis, case, 1, name) == data
    assert evidence.names(env.config, env.redis, case, 2) == []  # another attempt holds nothing
    assert evidence.purge(env.config, env.redis, case, 1) == 3
    assert evidence.names(env.config, env.redis, case, 1) == []
    with pytest.raises(EvidenceNotFound) as raised:
        evidence.read(env.config, env.redis, case, 1, "document")
    assert isinstance(raised.value, InvalidInput) and raised.value.code == "evidence_not_found"
    assert evidence.purge(env.config, env.redis, case, 1) == 0


def test_save_replaces_the_previous_set(env: Env) -> None:
    case = env.cid("ev-2")
    evidence.save(env.config, env.redis, case, 1, {"document": _jpeg(1), "mrz_band": _jpeg(2)})
    evidence.save(env.config, env.redis, case, 1, {"portrait": _jpeg(3)})
    assert evidence.names(env.config, env.redis, case, 1) == ["portrait"]


@pytest.mark.parametrize("images, why", [
    ({"document": b"\x89PNG\r\n\x1a\n" + b"0" * 100}, "not a JPEG"),
    ({"document": "text, not bytes"}, "not a JPEG"),
    ({"../document": b"\xff\xd8\xff\xe0"}, "not an evidence image name"),
    ({"selfie_extra": b"\xff\xd8\xff\xe0"}, "not an evidence image name"),
])
def test_save_refuses_bad_images_and_stores_none(env: Env, images: dict, why: str) -> None:
    case = env.cid("ev-3")
    with pytest.raises(InvalidEvidence, match=why):
        evidence.save(env.config, env.redis, case, 1, {"portrait": _jpeg(1), **images})
    assert evidence.names(env.config, env.redis, case, 1) == []  # all or none


def test_save_refuses_an_image_over_the_byte_limit(env: Env) -> None:
    config = env.config.with_(evidence_max_bytes=4096)
    big = _jpeg(1, side=256)
    assert len(big) > 4096
    with pytest.raises(InvalidEvidence, match="byte limit"):
        evidence.save(config, env.redis, env.cid("ev-4"), 1, {"document": big})
    assert evidence.save(config, env.redis, env.cid("ev-4"), 1, {"portrait": _jpeg(2, side=16)}) == ["portrait"]


@pytest.mark.parametrize("case_id", ["../etc", "a/b", "a:b", "", ".hidden", "x" * 129, "ok\n", None, 7])
def test_hostile_case_ids_are_refused_everywhere(env: Env, case_id: object) -> None:
    for call in (lambda: evidence.save(env.config, env.redis, case_id, 1, {"document": _jpeg(1)}),  # type: ignore[arg-type]
                 lambda: evidence.names(env.config, env.redis, case_id, 1),  # type: ignore[arg-type]
                 lambda: evidence.read(env.config, env.redis, case_id, 1, "document"),  # type: ignore[arg-type]
                 lambda: evidence.purge(env.config, env.redis, case_id, 1)):  # type: ignore[arg-type]
        with pytest.raises(PathNotAllowed):
            call()


def test_the_request_and_the_evidence_store_agree_on_case_ids() -> None:
    """A case id the request schema takes always has a place for its images (so retention, which
    purges them by the stored case id, never meets one the evidence store refuses)."""
    with pytest.raises(InvalidInput):
        VerificationRequest(case_id="ok\n", attempt=1, document_video="-", selfie_video="-")
    with pytest.raises(InvalidInput):
        VerificationRequest(case_id="ok", customer_id="c\n", attempt=1, document_video="-", selfie_video="-")


@pytest.mark.parametrize("attempt", [0, -1, 1001, True, "1"])
def test_impossible_attempts_are_refused(env: Env, attempt: object) -> None:
    with pytest.raises(PathNotAllowed):
        evidence.names(env.config, env.redis, env.cid("ev-5"), attempt)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["../../etc/passwd", "document.jpg", "DOCUMENT", "", "selfie_front/x"])
def test_read_refuses_names_outside_the_allow_list(env: Env, name: str) -> None:
    case = env.cid("ev-6")
    evidence.save(env.config, env.redis, case, 1, {"document": _jpeg(1)})
    with pytest.raises(PathNotAllowed):
        evidence.read(env.config, env.redis, case, 1, name)


def test_names_follow_the_display_order(env: Env) -> None:
    case = env.cid("ev-7")
    evidence.save(env.config, env.redis, case, 1, {name: _jpeg(i) for i, name in enumerate(reversed(EVIDENCE_NAMES))})
    assert evidence.names(env.config, env.redis, case, 1) == list(EVIDENCE_NAMES)


def test_a_save_after_the_media_were_purged_keeps_nothing(env: Env) -> None:
    case = env.cid("ev-8")
    env.store.mark_purged(case, 1, removed=2, kept=0, now=1.0e9)  # a consent withdrawal won the race
    assert evidence.save(env.config, env.redis, case, 1, {"document": _jpeg(1)}) == []
    assert evidence.names(env.config, env.redis, case, 1) == []


# ---- the engine's picks (kycengine.evidence) ------------------------------------------------------

def _decoded(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None and image.size > 0
    return image


@pytest.mark.parametrize("shape, expected", [((720, 1280, 3), (270, 480)), ((300, 200, 3), (300, 200))])
def test_encode_bounds_the_long_side_and_never_enlarges(shape: tuple[int, int, int],
                                                        expected: tuple[int, int]) -> None:
    image = np.random.default_rng(0).integers(0, 255, shape, dtype=np.uint8)
    data = engine_evidence.encode(image)
    assert data is not None and data.startswith(evidence.JPEG_MAGIC)
    assert _decoded(data).shape[:2] == expected
    assert engine_evidence.encode(None) is None and engine_evidence.encode(image[:0]) is None


def test_document_images_come_from_the_rectified_document() -> None:
    layout = LAYOUTS[DocumentType.FR_CNI_1988]
    width, height = (round(v * CARD_PX_PER_MM) for v in layout.size_mm)
    card = np.full((height, width, 3), 255, np.uint8)
    x, y, w, h = (round(v * CARD_PX_PER_MM) for v in layout.mrz_box_mm(pad=0.0))
    card[y:y + h, x:x + w] = 0  # the MRZ lines: the band must hold them all
    found = DocumentEvidence(state=StageState.COMPLETE, document_type=DocumentType.FR_CNI_1988, card_image=card,
                             portrait=card[40:300, 40:250])
    band = engine_evidence.mrz_band(found)
    assert band is not None and band.shape[1] <= width
    assert (band == 0).all(axis=2).sum() == w * h  # every MRZ pixel, with a white margin round it
    images = engine_evidence.document_images(found)
    assert sorted(images) == ["document", "mrz_band", "portrait"]
    assert _decoded(images["document"]).shape[:2] == (round(height * 480 / width), 480)
    unread = DocumentEvidence(state=StageState.COMPLETE)  # no document read: nothing to show
    assert engine_evidence.document_images(unread) == {}


def test_a_failure_to_make_images_never_costs_the_verdict() -> None:
    timings: dict[str, float] = {}

    def broken() -> dict[str, bytes]:
        raise ValueError("corrupt frame")

    assert _evidence_images(timings, "evidence_selfie", broken) == {}
    assert "evidence_selfie" in timings


# ---- the worker keeps them beside the verdict -----------------------------------------------------

IMAGES = {"document": _jpeg(11, 160), "portrait": _jpeg(12, 96), "selfie_blink": _jpeg(13, 128)}


class PicturingVerifier(ScriptedVerifier):
    """The scripted verifier, with evidence images on its verdicts as the engine's."""

    def verify(self, document_video: Any, selfie_video: Any, **kwargs: Any) -> Verdict:
        return dataclasses.replace(super().verify(document_video, selfie_video, **kwargs),
                                   evidence_images=dict(IMAGES))


def _carries_no_image(text: str | bytes) -> None:
    """No image's bytes, hex or base64 (at any alignment) in `text`, and no field naming them."""
    raw = text.encode() if isinstance(text, str) else text
    assert b"evidence_images" not in raw
    for data in IMAGES.values():
        middle = data[len(data) // 2:len(data) // 2 + 48]
        assert middle not in raw and middle.hex().encode() not in raw
        for shift in range(3):
            assert base64.b64encode(middle[shift:shift + 45]).rstrip(b"=") not in raw


def test_images_are_kept_with_the_verdict_and_never_sent(env: Env) -> None:
    receiver = env.receiver().start()
    for case, status in (("pic-ok", "approved"), ("pic-rev", "manual_review")):
        submit(env.request(case, status, callback=receiver.url), env.config, connection=env.redis)
    env.work(factory=PicturingVerifier)
    env.drain(lambda: len(receiver.acknowledged()) == 2 and len(receiver.status) >= 4)
    for case in ("pic-ok", "pic-rev"):
        assert evidence.names(env.config, env.redis, env.cid(case), 1) == ["document", "portrait", "selfie_blink"]
        assert evidence.read(env.config, env.redis, env.cid(case), 1, "portrait") == IMAGES["portrait"]
        _carries_no_image(env.redis.get(f"{env.config.key_prefix}verdict:{env.cid(case)}:1") or b"")
        _carries_no_image(json.dumps(result(env.cid(case), 1, env.config, env.redis)))
        _carries_no_image(json.dumps(env.store.history(env.cid(case))))
    for received in [*receiver.received, *receiver.status]:
        _carries_no_image(json.dumps(received.body))
    # retention deletes the images of a final outcome with its media; the case in review keeps them
    retention.purge_due(env.config, env.redis, now=time.time() + env.config.retention_s + 60)
    assert evidence.names(env.config, env.redis, env.cid("pic-ok"), 1) == []
    assert len(evidence.names(env.config, env.redis, env.cid("pic-rev"), 1)) == 3
    # a consent withdrawal deletes them at once, review or not
    identity.withdraw_consent(env.config, env.redis, env.cid("pic-rev"), channel="mail")
    assert evidence.names(env.config, env.redis, env.cid("pic-rev"), 1) == []


def test_images_the_store_refuses_cost_only_the_images(env: Env) -> None:
    config = env.config.with_(evidence_max_bytes=1024)  # smaller than the scripted images
    submit(env.request("pic-big", "approved"), config, connection=env.redis)
    env.config = config
    env.work(factory=PicturingVerifier)
    out = result(env.cid("pic-big"), 1, config, env.redis)
    assert out is not None and out["status"] == "approved"
    assert evidence.names(config, env.redis, env.cid("pic-big"), 1) == []


# ---- the real engine ------------------------------------------------------------------------------

ENGINE_NAMES = ["document", "document_tilt", "mrz_band", "portrait", "selfie_front", "selfie_left", "selfie_right", "selfie_blink"]


@pytest.mark.slow
def test_real_verifier_keeps_every_image_until_retention_or_withdrawal(env: Env) -> None:
    from kycengine.synth import make_sample
    from workers.worker import worker_verifier_factory

    sample = env.root / "sample"
    labels = make_sample(sample, seed=3, size=(640, 360), fps=10)
    document_label: Any = labels["document.mp4"]
    holder = document_label.identity
    declared = {"surname": holder.surname.upper(), "given_names": "-".join(holder.given_names),
                "birth_date": holder.birth_date.isoformat()}
    for case in ("real-ret", "real-wd"):  # each case has its own upload (a case owns its media)
        own = env.root / case
        own.mkdir()
        for name in ("document.mp4", "selfie.mp4"):
            shutil.copy(sample / name, own / name)
        submit({"case_id": env.cid(case), "attempt": 1, "document_video": str(own / "document.mp4"),
                "selfie_video": str(own / "selfie.mp4"), "declared": declared, "customer_id": env.cid(case),
                "consent": CONSENT}, env.config, connection=env.redis)
    threads = cv2.getNumThreads()
    try:
        env.work(factory=worker_verifier_factory)
    finally:
        cv2.setNumThreads(threads)  # the worker factory sets 1 thread: leave the test process as it was
    for case in ("real-ret", "real-wd"):
        out = result(env.cid(case), 1, env.config, env.redis)
        assert out is not None and out["status"] == "approved", out
        assert evidence.names(env.config, env.redis, env.cid(case), 1) == ENGINE_NAMES
        for name in ENGINE_NAMES:
            image = _decoded(evidence.read(env.config, env.redis, env.cid(case), 1, name))
            assert max(image.shape[:2]) <= engine_evidence.LONG_SIDE
        assert "evidence_images" not in out["verdict"]
    env.store.drop_retention(env.cid("real-wd"), 1)  # so that only the withdrawal can delete its images
    retention.purge_due(env.config, env.redis, now=time.time() + env.config.retention_s + 60)
    assert evidence.names(env.config, env.redis, env.cid("real-ret"), 1) == []
    assert not (env.root / "real-ret" / "document.mp4").exists()  # gone with the media
    assert evidence.names(env.config, env.redis, env.cid("real-wd"), 1) == ENGINE_NAMES
    identity.withdraw_consent(env.config, env.redis, env.cid("real-wd"), channel="web")
    assert evidence.names(env.config, env.redis, env.cid("real-wd"), 1) == []
    with pytest.raises(EvidenceNotFound):
        evidence.read(env.config, env.redis, env.cid("real-wd"), 1, "portrait")
