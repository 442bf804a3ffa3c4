"""Live capture over real HTTP (uvicorn on 127.0.0.1, a real Redis) and in a real headless Chromium
whose camera plays a generated capture (`--use-file-for-fake-video-capture`, a y4m file).

API: the bank opens a capture and gets a one-time URL; hostile tokens 404; frames over the byte or
pixel limit 413; too many captures filming at once 503; a silent or outlived capture 410; frames
faster than the rate, or while one is analysed, 429 `slow_down`; the selfie's recording refused in
the wrong state (409), over its limit (413), when it is no video (422), and a truncated one closes
the session to film again. Browser: a genuine document, then (a second browser whose camera plays the
face) a live selfie performing the capture's own challenge, recorded by the page, bring the progress
bar to 100 % and, once a burst worker has verified the submitted case, the outcome; a blurry document
gets the blur guidance and never reaches 100 %.
"""

from __future__ import annotations

import concurrent.futures
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import httpx
import numpy as np
import pytest

from kycengine import video
from kycengine.capture import Challenge, Guidance, text
from kycengine.pipeline import Verifier
from kycengine.synth import DocumentType, DocumentVariant, SelfieVariant, make_document_video, make_selfie_video
from kycengine.synth.y4m import write_y4m
from tests.web_support import serve, web_config
from tests.workers_support import Env
from web.app import create_app
from web.capture.engines import Engines
from web.capture.hub import CaptureHub, Step
from web.capture.texts import PAGE
from web.clients import Clients
from web.config import WebConfig
from workers.enqueue import result

CHROMIUM = "/usr/bin/chromium"
SIZE, FPS = (640, 360), 10
HOLDER = "astronaut"
VIDEO_FIELDS = ("document_video", "selfie_video")


@pytest.fixture(scope="module")
def engines() -> Engines:
    """The capture stages, loaded once for the module (a served app loads them once per process)."""
    loaded = Engines.for_limits(WebConfig.capture_max_frames)
    loaded.get()
    return loaded


@dataclass
class Served:
    env: Env
    url: str
    hub: CaptureHub
    http: httpx.Client
    key: str

    def open(self, case: str, **extra: Any) -> httpx.Response:
        """`POST /v1/capture-sessions` for a fresh case of the test's client."""
        request = {k: v for k, v in self.env.request(case).items() if k not in VIDEO_FIELDS}
        return self.http.post("/v1/capture-sessions", json={**request, **extra},
                              headers={"Authorization": f"Bearer {self.key}"})

    def opened(self, case: str, **extra: Any) -> str:
        """The capture path of a fresh case."""
        answer = self.open(case, **extra)
        assert answer.status_code == 201, answer.text
        return str(answer.json()["path"])

    def frame(self, path: str, image: np.ndarray, t: float, step: str = "document") -> httpx.Response:
        return self.http.post(f"{path}/{step}/frames", params={"t": t}, content=jpeg(image),
                              headers={"Content-Type": "image/jpeg"})


@pytest.fixture
def served(env: Env, engines: Engines, request: pytest.FixtureRequest) -> Iterator[Served]:
    """The app with the test's capture limits (`parametrize("served", [{field: value}], indirect=True)`)."""
    app = create_app(web_config(env.config, env.root, **getattr(request, "param", {})))
    app.state.capture_engines = engines
    key = Clients(env.redis, app.state.config).add(f"{env.token}-bank").api_key
    with serve(app) as url, httpx.Client(base_url=url, timeout=30.0) as http:
        yield Served(env, url, app.state.capture_hub, http, key)


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return data.tobytes()


def noise(width: int = 640, height: int = 360) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


# ---- the API -----------------------------------------------------------------------------------

def test_open_capture_one_time_url_and_hostile_tokens(served: Served) -> None:
    answer = served.open("open", language="fr")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    path = body["path"]
    assert body["capture_url"] == served.url + path and answer.headers["location"] == path
    token = path.rsplit("/", 1)[1]
    assert len(token) == 43 and token not in str(served.hub.__dict__)  # kept only as its hash
    page = served.http.get(path)
    assert page.status_code == 200 and page.headers["referrer-policy"] == "no-referrer"
    assert '<html lang="fr">' in page.text and 'role="progressbar"' in page.text
    assert f'aria-label="{PAGE["progress"][1]}"' in page.text
    assert f'aria-label="{PAGE["progress"][0]}"' in served.http.get(path, params={"lang": "en"}).text
    assert served.http.get(f"{path}/status").json()["step"] == "document"

    other = token[:-1] + ("A" if token[-1] != "A" else "B")
    for hostile in (other, "..%2F..%2Fetc%2Fpasswd", token + "x", "x" * 43 + "%00", "%3Cscript%3E"):
        assert served.http.get(f"/capture/{hostile}").status_code == 404
        _problem(served.http.get(f"/capture/{hostile}/status"), 404, "not_found")
        _problem(served.http.post(f"/capture/{hostile}/document/start"), 404, "not_found")
        _problem(served.frame(f"/capture/{hostile}", noise(), 0.0), 404, "not_found")

    # the browser needs no key, the bank does; the capture makes the videos and the challenge
    assert served.http.post("/v1/capture-sessions", json={}).status_code == 401
    _problem(served.open("videos", document_video=str(served.env.root / "a.mp4")), 422, "invalid_request")
    _problem(served.open("no-consent", consent=None), 422, "consent_required")
    _problem(served.open("lang", language="de"), 422, "invalid_request")
    # frames only for a step being filmed
    _problem(served.frame(path, noise(), 0.0), 409, "capture_step")
    _problem(served.http.post(f"{path}/selfie/start"), 409, "capture_step")


def test_frames_over_the_size_limits_are_refused_before_decoding(served: Served) -> None:
    path = served.opened("sizes")
    assert served.http.post(f"{path}/document/start").status_code == 200
    limits = WebConfig
    big = os.urandom(limits.capture_max_frame_bytes + 1)
    _problem(served.http.post(f"{path}/document/frames", params={"t": 0}, content=b"\xff\xd8\xff" + big,
                              headers={"Content-Type": "image/jpeg"}), 413, "frame_too_large")
    time.sleep(1.0 / limits.capture_max_fps)
    wide = noise(limits.capture_max_frame_side + 16, 64)  # small in bytes, over the pixel limit
    _problem(served.frame(path, wide, 0.0), 413, "frame_too_large")
    time.sleep(1.0 / limits.capture_max_fps)
    _problem(served.http.post(f"{path}/document/frames", params={"t": 0}, content=b"GIF89a" + bytes(64),
                              headers={"Content-Type": "image/jpeg"}), 422, "invalid_media")
    time.sleep(1.0 / limits.capture_max_fps)
    ok = served.frame(path, noise(), 0.0)
    assert ok.status_code == 200, ok.text
    state = ok.json()
    assert state["code"] == Guidance.SHOW_DOCUMENT.value and 0 <= state["progress"] < 1 and not state["closed"]


@pytest.mark.parametrize("served", [{"capture_max_sessions": 1}], indirect=True)
def test_too_many_captures_filming_at_once(served: Served) -> None:
    first, second = served.opened("first"), served.opened("second")
    assert served.http.post(f"{first}/document/start").status_code == 200
    busy = served.http.post(f"{second}/document/start")
    _problem(busy, 503, "capture_busy")
    assert int(busy.headers["retry-after"]) >= 1
    assert served.http.post(f"{first}/document/start").status_code == 200  # starting again is no new one


@pytest.mark.parametrize("served", [{"capture_idle_s": 0.5, "capture_lifetime_s": 2.0}], indirect=True)
def test_silent_and_outlived_captures_expire(served: Served) -> None:
    silent, idle = served.opened("silent"), served.opened("idle")
    assert served.http.post(f"{silent}/document/start").status_code == 200
    assert served.frame(silent, noise(), 0.0).status_code == 200
    time.sleep(0.8)
    _problem(served.frame(silent, noise(), 1.0), 410, "capture_expired")
    _problem(served.http.get(f"{silent}/status"), 410, "capture_expired")
    assert served.http.get(idle).status_code == 200  # not filming: only its lifetime counts
    time.sleep(1.5)
    expired = served.http.get(idle)
    assert expired.status_code == 410 and PAGE["expired"][1] in expired.text or PAGE["expired"][0] in expired.text
    assert not any(c.session or c.done for c in served.hub._captures.values())  # no frame kept


@pytest.mark.parametrize("served", [{"capture_max_fps": 0.25}], indirect=True)
def test_frame_rate_and_one_frame_in_flight(served: Served) -> None:
    path = served.opened("rate")
    assert served.http.post(f"{path}/document/start").status_code == 200
    image = noise()
    assert served.frame(path, image, 0.0).status_code == 200
    fast = served.frame(path, image, 0.1)
    _problem(fast, 429, "slow_down")
    assert int(fast.headers["x-capture-interval-ms"]) >= 4000 and int(fast.headers["retry-after"]) >= 4
    time.sleep(4.0)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:  # two at once: one is analysed, one is not
        answers = list(pool.map(lambda t: served.frame(path, image, t), (5.0, 5.1)))
    assert sorted(a.status_code for a in answers) == [200, 429]


def _sending(served: Served, path: str) -> None:
    """The selfie started and at its challenge's end, waiting for its recording (two faceless frames)."""
    capture = served.hub.find(path.rsplit("/", 1)[1])
    capture.step = Step.SELFIE  # as if the document were filmed: not what these tests are about
    answer = served.http.post(f"{path}/selfie/start")
    assert answer.status_code == 200, answer.text
    assert capture.session is not None
    for t in (0.0, capture.session.challenge.end_s):
        time.sleep(1.0 / WebConfig.capture_max_fps)
        answer = served.frame(path, noise(), t, step="selfie")
        assert answer.status_code == 200, answer.text
    assert answer.json()["code"] == Guidance.SENDING.value and not answer.json()["closed"]


def _webm(path: Path, frames: int = 10) -> bytes:
    """A small VP8 WebM, as a browser's MediaRecorder makes."""
    with av.open(str(path), "w", format="webm") as container:
        stream = container.add_stream("libvpx", rate=10)
        stream.width, stream.height, stream.pix_fmt = 160, 120, "yuv420p"
        for i in range(frames):
            picture = av.VideoFrame.from_ndarray(np.full((120, 160, 3), 20 * i, np.uint8), format="bgr24")
            for packet in stream.encode(picture):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


@pytest.mark.parametrize("served", [{"capture_max_recording_bytes": 4096}], indirect=True)
def test_selfie_recording_refused_unless_waited_for_small_and_a_video(served: Served, tmp_path: Path) -> None:
    path = served.opened("recording")
    webm = _webm(tmp_path / "a.webm")
    assert webm.startswith(bytes.fromhex("1a45dfa3")) and len(webm) < 4096

    def send(body: bytes) -> httpx.Response:
        return served.http.post(f"{path}/selfie/recording", content=body, headers={"Content-Type": "video/webm"})

    def film_again() -> None:
        state = served.http.get(f"{path}/status").json()
        assert (state["step"], state["code"], state["closed"], state["filming"]) == (
            "selfie", Guidance.TRY_AGAIN.value, True, False)

    _problem(send(webm), 409, "capture_step")  # no selfie waiting for it
    _sending(served, path)
    _problem(send(webm[:4] + os.urandom(5000)), 413, "upload_too_large")
    film_again()
    _problem(send(webm), 409, "capture_step")  # closed: filmed again first
    _sending(served, path)
    _problem(send(b"GIF89a" + bytes(64)), 422, "invalid_media")
    film_again()
    _sending(served, path)
    _problem(send(webm[:6]), 422, "invalid_media")  # too short to be a video
    film_again()
    _sending(served, path)
    truncated = send(webm[: len(webm) // 2])  # its first frames decode: no face, not enough
    assert truncated.status_code == 200 and truncated.json()["code"] == Guidance.TRY_AGAIN.value, truncated.text
    film_again()
    uploads = served.env.root / "uploads"
    assert not list(uploads.rglob("recording-*"))  # nothing left on disk


def test_y4m_round_trip(tmp_path: Path) -> None:
    frames = [np.full((36, 64, 3), (40 * i, 100, 200 - 40 * i), np.uint8) for i in range(3)]
    written = write_y4m(tmp_path / "a.y4m", frames, 12.5)
    assert written.read_bytes().startswith(b"YUV4MPEG2 W64 H36 F25:2 ")
    decoded = [f.image for f in video.iter_frames(written)]
    assert len(decoded) == 3 and all(np.abs(a.astype(int) - b).mean() < 3 for a, b in zip(decoded, frames, strict=True))


# ---- the browser -------------------------------------------------------------------------------

def _y4m_from(mp4: Path, fps: float = FPS) -> Path:
    return write_y4m(mp4.with_suffix(".y4m"), (f.image for f in video.iter_frames(mp4)), fps)


def _document(folder: Path, variant: DocumentVariant) -> Path:
    mp4 = folder / f"document-{variant.value}.mp4"
    make_document_video(mp4, document_type=DocumentType.FR_CNI_2021, variant=variant, seed=1, size=SIZE, fps=FPS,
                        seconds=6.0, person=HOLDER)
    return _y4m_from(mp4)


@pytest.fixture(scope="module")
def browser_videos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    folder = tmp_path_factory.mktemp("camera")
    _document(folder, DocumentVariant.GENUINE)
    _document(folder, DocumentVariant.BLURRY)
    return folder


def _chromium(playwright: Any, camera: Path) -> Any:
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={camera}"])


def _film(playwright: Any, camera: Path, url: str, step: str) -> tuple[Any, Any]:
    browser = _chromium(playwright, camera)
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone's screen
    page.goto(url)
    page.click(f"#start-{step}")
    return browser, page


def _until_full(page: Any, timeout_ms: float) -> None:
    """Wait for the progress bar at 100 %; on a timeout, say what the page showed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_selector('#progress[aria-valuenow="100"]', timeout=timeout_ms)
    except PlaywrightTimeout:
        shown = [page.get_attribute("#progress", "aria-valuenow")] + [
            page.text_content(f"#{box}") for box in ("guidance", "message")]
        raise AssertionError("progress stayed at {} %, guidance {!r}, message {!r}".format(*shown)) from None


def test_browser_genuine_capture_reaches_the_outcome(served: Served, browser_videos: Path) -> None:
    """The page films the document with the fake camera to 100 %; a second browser, whose camera
    plays the face performing the capture's challenge, films and records the selfie to 100 %; the
    page then shows the verdict's outcome."""
    from playwright.sync_api import sync_playwright

    answer = served.open("browser", language="fr")
    assert answer.status_code == 201, answer.text
    url = answer.json()["capture_url"]
    capture = next(iter(served.hub._captures.values()))
    challenge = capture.next_challenge  # drawn when it opened: the face performs it
    selfie = browser_videos / "selfie.mp4"
    make_selfie_video(selfie, person=HOLDER, variant=SelfieVariant.LIVE, seed=1, size=SIZE, fps=FPS,
                      seconds=challenge.end_s + 1.0, challenge=challenge)
    with sync_playwright() as playwright:
        browser, page = _film(playwright, browser_videos / "document-genuine.y4m", url, "document")
        _until_full(page, 60_000)
        page.wait_for_selector("#start-selfie", state="visible", timeout=10_000)
        browser.close()
        browser, page = _film(playwright, _y4m_from(selfie), url, "selfie")  # the front camera
        _until_full(page, 60_000)
        assert capture.step is Step.SUBMITTED and capture.case is not None
        case_id = answer.json()["case_id"]
        deadline = time.monotonic() + 120
        while result(case_id, 1, served.env.config, served.env.redis) is None:
            assert time.monotonic() < deadline, "the worker gave no verdict"
            served.env.work(factory=Verifier)
        outcome = result(case_id, 1, served.env.config, served.env.redis)
        assert outcome is not None
        shown = page.wait_for_function(
            "() => { const o = document.getElementById('outcome-text').dataset.outcome;"
            " return o && o !== 'checking' ? o : null; }", timeout=15_000).json_value()
        assert page.text_content("#outcome-text") == PAGE[shown][1]
        browser.close()
    assert (outcome["status"], shown) == ("approved", "approved"), outcome.get("reasons")
    # the case is the document's frames and the selfie's recording, with the challenge it performed
    request = (served.env.store.get_attempt(case_id, 1) or {})["request"]
    assert Challenge.from_dict(request["challenge"]) == challenge
    uploads = (served.env.root / "uploads").resolve()
    document, recorded = (Path(request[name]) for name in VIDEO_FIELDS)
    assert document.parent.parent == recorded.parent.parent == uploads
    assert sum(1 for _ in video.iter_frames(document)) >= 3  # a document closes after 2 s
    assert recorded.suffix == ".webm" and recorded.read_bytes().startswith(bytes.fromhex("1a45dfa3"))
    # the camera's every frame to the challenge's end, where the page sampled 3-5 a second
    assert sum(1 for _ in video.iter_frames(recorded)) >= 0.9 * FPS * challenge.end_s
    assert not list(uploads.glob("recording-*"))
    assert not any(c.session or c.done for c in served.hub._captures.values())  # frames dropped


def test_browser_blurry_document_gets_the_blur_guidance(served: Served, browser_videos: Path) -> None:
    from playwright.sync_api import sync_playwright

    url = served.open("blurry", language="en").json()["capture_url"]
    blur = text(Guidance.HOLD_STILL, "en")
    with sync_playwright() as playwright:
        browser, page = _film(playwright, browser_videos / "document-blurry.y4m", url, "document")
        page.wait_for_function(f"() => document.getElementById('guidance').textContent === {blur!r}",
                               timeout=30_000)
        page.wait_for_timeout(4000)
        assert int(page.get_attribute("#progress", "aria-valuenow") or 0) < 100
        assert page.text_content("#guidance") == blur
        browser.close()
