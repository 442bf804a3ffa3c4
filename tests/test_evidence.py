"""Evidence images: the store's allow-list, limits and confinement on a real Redis (workers.evidence)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kycengine.errors import InvalidInput, PathNotAllowed
from tests.workers_support import Env
from workers import evidence
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
