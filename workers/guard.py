"""Only our jobs run: every queue entry is screened before anything it names is imported or called.

rq stores a job as the dotted name of a function plus its arguments, and a worker imports and calls
whatever name it finds: anyone who can write to the queue could otherwise run `os.system` as the
worker's user. `GuardedJob` is the rq Job class of every kyc queue and worker (`job_class=`): its
`perform` screens the entry first, and its `func` and callback properties refuse to resolve a name
outside the allow-list, so no other path can import one either.

* Functions: exactly `ALLOWED_FUNCTIONS` (the verification, delivery and strict re-verification
  jobs), not bound to an
  instance, with the arguments they take. Callbacks: exactly `ALLOWED_CALLBACKS`. rq needs nothing
  else: its scheduler, retries and registries move job ids, they run no functions of their own.
* An entry whose payload is not rq JSON (a pickle, garbage) is never decoded further: workers use
  rq's JSONSerializer, which cannot unpickle, and the entry is refused like a foreign function.
* rq's own per-job webhooks are never sent (kycengine delivers its own signed webhooks; a queue
  writer could point rq's anywhere).

A refused entry is quarantined (`Store.quarantine`: its job id, the function name as text, why and
when, listed in `{p}quarantine`), its stored outcome is `rejected` with a code, and it never runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from rq.exceptions import DeserializationError
from rq.job import Job

from .context import context
from .states import FailureCode, OutcomeStatus
from .store import Store

log = logging.getLogger(__name__)

VERIFY_JOB = "workers.verification.verify_job"
DELIVER_JOB = "workers.delivery_job.deliver_job"
REVERIFY_JOB = "workers.review.reverify_job"
VERIFY_FAILURE_CALLBACK = "workers.verification.on_verify_failure"
ALLOWED_FUNCTIONS = frozenset({VERIFY_JOB, DELIVER_JOB, REVERIFY_JOB})
ALLOWED_CALLBACKS = frozenset({VERIFY_FAILURE_CALLBACK})


class JobNotAllowed(Exception):
    """A queue entry names a function or callback that is not ours."""


def _arguments_fit(name: str, args: Any, kwargs: Any) -> bool:
    if not isinstance(args, (list, tuple)) or kwargs not in (None, {}):
        return False
    if name == VERIFY_JOB:
        return len(args) == 1
    if name == REVERIFY_JOB:
        return len(args) == 1 and isinstance(args[0], str)
    return (2 <= len(args) <= 3 and isinstance(args[0], str) and type(args[1]) is int
            and all(isinstance(a, str) for a in args[2:]))


def screen(job: Job) -> tuple[FailureCode, str] | None:
    """Why this entry may not run (code, detail), or None when it is one of ours, called as ours."""
    if getattr(job, "undecodable", False):
        return FailureCode.JOB_UNDECODABLE, "the job's payload is not rq JSON (pickled or corrupt): not decoded"
    name = job.func_name
    if not isinstance(name, str) or name not in ALLOWED_FUNCTIONS:
        return FailureCode.JOB_NOT_ALLOWED, f"function {str(name)[:200]!r} is not on the allow-list"
    if job.instance is not None:
        return FailureCode.JOB_NOT_ALLOWED, f"{name} bound to an instance"
    for kind, callback in (("success", job._success_callback_name), ("failure", job._failure_callback_name),
                           ("stopped", job._stopped_callback_name)):
        if callback and callback not in ALLOWED_CALLBACKS:
            return FailureCode.JOB_NOT_ALLOWED, f"{kind} callback {callback[:200]!r} is not on the allow-list"
    if not _arguments_fit(name, job.args, job.kwargs):
        return FailureCode.JOB_BAD_ARGUMENTS, f"{name} called with arguments it does not take"
    return None


def quarantine(job: Job, code: FailureCode, detail: str, prefix: str) -> dict[str, Any]:
    """Refuse a queue entry for good; returns its stored `rejected` outcome."""
    name = job._func_name if isinstance(job._func_name, str) else None
    entry = {"status": OutcomeStatus.REJECTED.value, "reason": code.value, "detail": detail, "job_id": job.id,
             "function": (name or "")[:200], "queue": job.origin}
    Store(job.connection, prefix).quarantine(job.id, entry)
    log.error("job %s from queue %s refused and quarantined (%s): %s", job.id, job.origin, code.value, detail)
    return entry


def _allowed_callback(name: str | None, resolve: Callable[[Job], Any], job: Job) -> Any:
    return resolve(job) if not name or name in ALLOWED_CALLBACKS else None


class GuardedJob(Job):
    """rq's Job, screened before it runs; it resolves only allow-listed names."""

    undecodable = False

    def _deserialize_data(self) -> None:
        try:
            super()._deserialize_data()
        except DeserializationError:  # kept as a job that names nothing, refused by `screen`
            self.undecodable = True
            self._func_name, self._instance, self._args, self._kwargs = None, None, (), {}  # type: ignore[assignment]

    def perform(self) -> Any:
        problem = screen(self)
        if problem is not None:
            return quarantine(self, *problem, prefix=context().config.key_prefix)
        return super().perform()

    @property
    def func(self) -> Any:
        problem = screen(self)
        if problem is not None:
            raise JobNotAllowed(f"job {self.id}: {problem[1]}")
        return Job.func.fget(self)  # type: ignore[attr-defined]

    @property
    def success_callback(self) -> Any:
        return _allowed_callback(self._success_callback_name, Job.success_callback.fget, self)  # type: ignore[attr-defined]

    @property
    def failure_callback(self) -> Any:
        return _allowed_callback(self._failure_callback_name, Job.failure_callback.fget, self)  # type: ignore[attr-defined]

    @property
    def stopped_callback(self) -> Any:
        return _allowed_callback(self._stopped_callback_name, Job.stopped_callback.fget, self)  # type: ignore[attr-defined]

    def send_webhooks(self, status: Any, *, exc_string: str | None = None) -> None:
        """Never: rq's per-job webhooks are not used (see the module docstring)."""
