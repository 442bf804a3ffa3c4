"""A capture whose two steps are done becomes a case, in a folder of its own in the upload folder: the
document session's frames written as a video (`Recording.write`), the selfie's recording the session
closed on moved there as it came (WebM or MP4); the request goes
through the bank API's own `accept` (ownership, `workers.enqueue.submit`), with the challenge the
selfie performed, which the offline liveness stage checks again."""

from __future__ import annotations

import shutil
import uuid

from redis import Redis

from kycengine.capture.selfie import SelfieSession

from ..api.cases import accept
from ..api.idempotency import Answer
from ..api.uploads import upload_folder
from ..config import WebConfig
from .hub import Capture, Step


def submit(capture: Capture, config: WebConfig, connection: Redis) -> Answer:
    """Write the videos and enqueue the case; nothing is left on disk if that fails."""
    document, selfie = capture.done[Step.DOCUMENT], capture.done[Step.SELFIE]
    assert isinstance(selfie, SelfieSession) and selfie.video is not None  # the page's selfie is recorded
    folder = upload_folder(config) / f"capture-{uuid.uuid4().hex}"
    folder.mkdir()
    try:
        videos = {"document_video": str(document.recording.write(folder / "document.mp4")),
                  "selfie_video": str(selfie.video.replace(folder / f"selfie{selfie.video.suffix}"))}
        return accept({**capture.request, **videos, "challenge": selfie.challenge.to_dict()}, capture.client,
                      config, connection)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
