"""The bank API's cost: submit latency over HTTP, and verdicts per minute with 1 and 2 workers behind it.

`kyc serve` runs as a separate process (uvicorn, as an operator starts it) on 127.0.0.1; a client
with an API key submits over one keep-alive HTTP connection (httpx).

1. Submit latency: `submits` JSON submissions through `POST /v1/cases`, interleaved one for one with
   the same submissions made by a direct `workers.enqueue.submit` call in this process (the
   baseline: the same checks and the same queue, without HTTP, authentication or ownership
   records). No worker runs meanwhile: the submissions only queue. p50 and p95 of each, and their
   ratio.
2. End to end: `kyc worker` with 1, then 2, worker processes (real models, loaded and warmed up
   before the clock starts), `cases` generated capture samples (640x360, 15 fps) submitted through the
   API, each attempt polled through `GET /v1/cases/{id}/attempts/1` until it has a verdict. Verdicts
   per minute from the first submission to the last verdict read back; 2 workers against 1.

Needs a Redis (KYC_REDIS_URL, default redis://127.0.0.1:6379/15); keys use a private prefix and
queues, deleted afterwards.

    PYTHONPATH=. python -m benchmarks.api [--submits 40] [--cases 6]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from .report import Section, main_for
from .throughput import ROOT, _cleanup, make_samples

WEB_SECRET = uuid.uuid4().hex
CONSENT = {"text_version": "bench-consent", "given_at": "2024-05-01T09:00:00+00:00", "channel": "web",
           "filming": True, "biometric_processing": True}


def _env(root: Path, redis_url: str, token: str, processes: int = 1) -> dict[str, str]:
    return {"KYC_REDIS_URL": redis_url, "KYC_KEY_PREFIX": f"kycbench:{token}:", "KYC_VERIFY_QUEUE": f"{token}-verify",
            "KYC_DELIVERY_QUEUE": f"{token}-deliver", "KYC_MEDIA_ROOTS": str(root), "KYC_WEBHOOK_SECRET": WEB_SECRET,
            "KYC_WEB_SECRET": WEB_SECRET, "KYC_RESULT_TTL": "600", "KYC_WORKER_PROCESSES": str(processes)}


def _request(case_id: str, document: Path, selfie: Path) -> dict[str, Any]:
    return {"case_id": case_id, "attempt": 1, "document_video": str(document), "selfie_video": str(selfie),
            "customer_id": f"{case_id}-holder", "consent": dict(CONSENT)}


def _own_media(root: Path, case_id: str, document: Path, selfie: Path) -> tuple[Path, Path]:
    """A copy of the videos for one case (a case may not name another case's media)."""
    own = root / case_id
    own.mkdir()
    for source in (document, selfie):
        shutil.copy(source, own / source.name)
    return own / document.name, own / selfie.name


class Server:
    """`kyc serve` in a subprocess on a free port, with an API client."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        import httpx

        from tests.fault_env import free_port
        from web.clients import Clients
        from web.config import WebConfig
        from workers.connection import connect

        port = free_port()
        self.log = open(log, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "kycengine", "serve", "--port", str(port),
                                      "--log-level", "warning"], cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PYTHONPATH": str(ROOT), **env})
        config = WebConfig.from_env(env)
        key = Clients(connect(config.worker.redis_url), config).add(f"bench-{uuid.uuid4().hex[:8]}").api_key
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30.0,
                                 headers={"Authorization": f"Bearer {key}"})
        deadline = time.monotonic() + 60
        while True:
            try:
                if self.http.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.close()
                raise RuntimeError(f"kyc serve did not start (log: {log})")
            time.sleep(0.1)

    def submit(self, request: dict[str, Any]) -> tuple[str, str]:
        """The submission's Location and job id."""
        answer = self.http.post("/v1/cases", json=request)
        if answer.status_code != 202:
            raise RuntimeError(f"submit answered {answer.status_code}: {answer.text}")
        return str(answer.headers["location"]), str(answer.json()["job_id"])

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=30)
        self.log.close()


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def submit_latency(root: Path, redis_url: str, submits: int) -> dict[str, Any]:
    """p50/p95 of API submissions against direct `workers.enqueue.submit` calls, interleaved."""
    from workers.config import WorkerConfig
    from workers.connection import connect
    from workers.enqueue import submit

    token = f"benchapi{uuid.uuid4().hex[:8]}"
    env = _env(root, redis_url, token)
    config = WorkerConfig.from_env(env)
    redis = connect(redis_url)
    server = Server(env, root / f"{token}-serve.log")
    api_ms: list[float] = []
    direct_ms: list[float] = []
    job_ids: list[str] = []
    try:
        for i in range(submits + 2):  # the first pair warms both paths up and is not counted
            for way, times in (("api", api_ms), ("direct", direct_ms)):
                case_id = f"{token}-{way}{i}"
                folder = root / case_id
                folder.mkdir()
                (folder / "document.mp4").write_bytes(b"queued only")
                (folder / "selfie.mp4").write_bytes(b"queued only")
                request = _request(case_id, folder / "document.mp4", folder / "selfie.mp4")
                started = time.perf_counter()
                job_ids.append(server.submit(request)[1] if way == "api" else
                               submit(request, config, connection=redis))
                if i >= 2:
                    times.append((time.perf_counter() - started) * 1000)
    finally:
        server.close()
        _cleanup(redis, token, job_ids)
    return {"submits": submits, "api_ms": api_ms, "direct_ms": direct_ms,
            "api_p50_ms": round(_percentile(api_ms, 50), 2), "api_p95_ms": round(_percentile(api_ms, 95), 2),
            "direct_p50_ms": round(_percentile(direct_ms, 50), 2),
            "direct_p95_ms": round(_percentile(direct_ms, 95), 2)}


def end_to_end(root: Path, redis_url: str, samples: list[tuple[Path, Path]], cases: int,
               processes: int) -> dict[str, Any]:
    """Verdicts per minute through the API with `processes` worker processes behind it."""
    from tests.fault_env import WorkerProcess, wait_for
    from workers.config import WorkerConfig
    from workers.connection import connect
    from workers.probe import check

    token = f"benchapi{uuid.uuid4().hex[:8]}"
    env = _env(root, redis_url, token, processes)
    config = WorkerConfig.from_env(env)
    worker = WorkerProcess(env, root / f"{token}-worker.log", module="kycengine")
    server: Server | None = None
    submitted: list[tuple[str, str]] = []
    try:
        server = Server(env, root / f"{token}-serve.log")
        wait_for(lambda: check(config, min_workers=processes).ok, 600, f"{processes} live workers")
        jobs = [(f"{token}-{i}", *_own_media(root, f"{token}-{i}", *samples[i % len(samples)])) for i in range(cases)]
        started = time.time()
        submitted = [server.submit(_request(case_id, document, selfie)) for case_id, document, selfie in jobs]
        locations = [location for location, _ in submitted]
        outcomes: dict[str, str] = {}
        while len(outcomes) < len(locations):
            for location in locations:
                if location not in outcomes:
                    status = server.http.get(location).json()["status"]
                    if status != "queued":
                        outcomes[location] = status
            if time.time() - started > 900:
                raise RuntimeError(f"{processes} worker(s): not every verdict within 900 s")
            time.sleep(0.2)
        wall = time.time() - started
    finally:
        if server is not None:
            server.close()
        worker.close()
        _cleanup(connect(redis_url), token, [job_id for _, job_id in submitted])
    if "failed" in outcomes.values():  # a fast failure is no verification
        raise RuntimeError(f"{processes} worker(s): a case failed: {sorted(outcomes.values())}")
    return {"processes": processes, "cases": cases, "wall_s": round(wall, 2),
            "verdicts_per_min": round(cases / wall * 60, 2), "statuses": sorted(outcomes.values())}


def measure(submits: int, cases: int, redis_url: str) -> dict[str, Any]:
    """Both parts; the JSON-ready report."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kyc-bench-api-") as folder:
        root = Path(folder)
        latency = submit_latency(root, redis_url, submits)
        samples = make_samples(root / "samples", min(cases, 3), (640, 360), 15)
        runs = [end_to_end(root, redis_url, samples, cases, n) for n in (1, 2)]
    return {"latency": latency, "end_to_end": runs, "cpu_count": os.cpu_count(),
            "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def section(submits: int = 40, cases: int = 6) -> Section:
    """For `python -m benchmarks`: 40 submissions each way, 6 cases with 1 and 2 workers."""
    report = measure(submits, cases, os.environ.get("KYC_REDIS_URL", "redis://127.0.0.1:6379/15"))
    latency, (one, two) = report["latency"], report["end_to_end"]
    rows = [{"measure": f"submit p{q}, ms", "through the API": latency[f"api_p{q}_ms"],
             "baseline": f"{latency[f'direct_p{q}_ms']} (direct enqueue.submit)",
             "x baseline": round(latency[f"api_p{q}_ms"] / latency[f"direct_p{q}_ms"], 2)} for q in (50, 95)]
    rows += [{"measure": "verdicts per minute, 1 worker", "through the API": one["verdicts_per_min"],
              "baseline": "(baseline)", "x baseline": 1.0},
             {"measure": "verdicts per minute, 2 workers", "through the API": two["verdicts_per_min"],
              "baseline": f"{one['verdicts_per_min']} (1 worker)",
              "x baseline": round(two["verdicts_per_min"] / one["verdicts_per_min"], 2)}]
    notes = (f"kyc serve (uvicorn) on 127.0.0.1, one keep-alive httpx client; {latency['submits']} submissions "
             "each way, interleaved; end to end: first submission to last verdict read back through the API, "
             f"{one['cases']} generated 640x360 15 fps cases, kyc worker processes loaded and warmed up first",
             f"load average {report['loadavg'][0]:.1f} -> {report['loadavg'][1]:.1f} on {report['cpu_count']} cores")
    return Section("api", "Bank API: submit latency and verdicts per minute behind it", rows, [report], notes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--submits", type=int, default=40)
    parser.add_argument("--cases", type=int, default=6)
    args = parser.parse_args()
    main_for(lambda: section(args.submits, args.cases))


if __name__ == "__main__":
    main()
