"""The job context: what a job takes from its worker process rather than from its arguments.

`workers.worker.run_worker` installs it before the worker takes jobs: the config and the Verifier,
built once per worker process (models load once, never per job).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis import Redis
from rq import get_current_job
from rq.job import Job

from kycengine.capture.challenge import Challenge
from kycengine.schema import DeclaredIdentity, Verdict

from .config import WorkerConfig
from .connection import connect

log = logging.getLogger(__name__)


class VerifierLike(Protocol):
    """What a job needs from a verifier: `kycengine.pipeline.Verifier.verify`'s signature."""

    def verify(self, document_video: Any, selfie_video: Any, *, declared: DeclaredIdentity | None = ...,
               case_id: str = ..., attempt: int = ..., today: dt.date | None = ...,
               challenge: Challenge | None = ...) -> Verdict: ...


VerifierFactory = Callable[[], VerifierLike]


def default_verifier_factory() -> VerifierLike:
    """The production verifier: `Verifier(Settings())`, models loaded now."""
    from kycengine.pipeline import Verifier
    from kycengine.settings import Settings

    return Verifier(Settings())


@dataclass
class JobContext:
    """Per-process state of a worker: its config and its (once-built) verifier."""

    config: WorkerConfig
    verifier_factory: VerifierFactory = default_verifier_factory
    _verifier: VerifierLike | None = field(default=None, repr=False)

    @property
    def verifier(self) -> VerifierLike:
        if self._verifier is None:
            self._verifier = self.verifier_factory()
        return self._verifier


_CONTEXT: JobContext | None = None


def install(config: WorkerConfig, verifier_factory: VerifierFactory | None = None, *,
            preload: bool = True) -> JobContext:
    """Set this process's job context; with `preload` the verifier (its models) is built now."""
    global _CONTEXT
    _CONTEXT = JobContext(config, verifier_factory or default_verifier_factory)
    if preload:
        _ = _CONTEXT.verifier
    return _CONTEXT


def context() -> JobContext:
    """The installed context; a job run by a plain `rq worker` gets one from the environment."""
    global _CONTEXT
    if _CONTEXT is None:
        log.warning("no job context installed (not started by `kyc worker`): reading KYC_* from the "
                    "environment; models load on the first job")
        _CONTEXT = JobContext(WorkerConfig.from_env())
    return _CONTEXT


def current_connection() -> tuple[Redis, Job | None]:
    """The running job's Redis connection and the job (None, with a fresh client, outside a job)."""
    job = get_current_job()
    if job is not None:
        return job.connection, job
    config = context().config
    return connect(config.redis_url, patient=True, backoff_max_s=config.redis_backoff_max_s), None
