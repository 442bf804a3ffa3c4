"""Verifications per second through the RQ workers, and the per-job cost of the queue.

Generates capture samples with the project's own generator, then, in interleaved rounds:

1. baseline: a fresh process builds the worker's Verifier once, warms it up like a worker, and
   calls `Verifier.verify` on every case in turn (no Redis, no rq);
2. through Redis: the same cases are enqueued and drained by one `kyc worker` process in burst mode,
   for each worker class: `prefork` (supervised rq SimpleWorker processes forked once from the
   model-loaded parent), `fork` (rq Worker: a work horse forked per job), `simple` (rq
   SimpleWorker, unsupervised).

Every process loads and warms its models before taking jobs; that start-up is not counted.
per-job overhead = CPU seconds per job of the worker (its children included) - CPU seconds per
job of the baseline process, the median of the per-round differences. CPU time is what the queue
costs whatever else runs on the machine; wall-clock throughput is reported too, with the load
average. Then the cases are drained by 2 worker processes of each class (scaling with cores).
Prints a table; writes benchmarks/results/throughput.json. Needs a Redis (KYC_REDIS_URL, default
redis://127.0.0.1:6379/15); its keys use a private prefix and are deleted afterwards.

    PYTHONPATH=. python benchmarks/throughput.py [--cases 8] [--rounds 3] [--size 1280x720] [--fps 30]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).with_name("results") / "throughput.json"

# One benchmark process: load + warm up (not counted), then either verify the cases directly
# ("baseline") or run a burst worker of the given class.
_PROCESS = """
import json, os, resource, sys, time, warnings
warnings.simplefilter("ignore")
from workers.config import WorkerConfig
from workers.worker import run_worker, warm_up, worker_verifier_factory
config = WorkerConfig.from_env()
start = time.time()
verifier = worker_verifier_factory()
warm_up(verifier, config)
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"ready": time.time(), "load_s": time.time() - start,
                  "cpu_before_jobs_s": usage.ru_utime + usage.ru_stime}), flush=True)
if sys.argv[1] == "baseline":
    for document, selfie in json.loads(os.environ["KYC_BENCH_CASES"]):
        verifier.verify(document, selfie)
else:
    run_worker(config, burst=True, verifier_factory=lambda: verifier, worker_class=sys.argv[1],
               logging_level="WARNING", warmup=False)
print(json.dumps({"done": time.time()}), flush=True)
"""


def make_samples(folder: Path, count: int, size: tuple[int, int], fps: int) -> list[tuple[Path, Path]]:
    """`count` document/selfie pairs from the capture generator."""
    from kycengine.synth import make_sample

    pairs = []
    for seed in range(count):
        out = folder / f"sample{seed}"
        make_sample(out, seed=seed, size=size, fps=fps)
        pairs.append((out / "document.mp4", out / "selfie.mp4"))
    return pairs


def _cleanup(redis: Any, token: str, job_ids: list[str]) -> None:
    for key in redis.scan_iter(match=f"*{token}*", count=1000):
        redis.delete(key)
    for key in redis.scan_iter(match="rq:*", count=1000):
        text = key.decode()
        if any(job_id in text for job_id in job_ids):
            redis.delete(key)
    for set_key in ("rq:queues", "rq:workers"):
        for member in redis.smembers(set_key):
            if token in member.decode():
                redis.srem(set_key, member)


def run(cases: list[tuple[Path, Path]], root: Path, redis_url: str, processes: int, mode: str) -> dict[str, Any]:
    """Run `processes` benchmark processes of `mode` ("baseline" or a worker class) over the cases."""
    from workers.config import WorkerConfig
    from workers.connection import connect
    from workers.enqueue import result, submit

    token = f"bench{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "KYC_REDIS_URL": redis_url,
           "KYC_KEY_PREFIX": f"kycbench:{token}:", "KYC_VERIFY_QUEUE": f"{token}-verify",
           "KYC_DELIVERY_QUEUE": f"{token}-deliver", "KYC_MEDIA_ROOTS": str(root),
           "KYC_WEBHOOK_SECRET": uuid.uuid4().hex, "KYC_RESULT_TTL": "600", "KYC_WORKER_PROCESSES": "1"}
    config = WorkerConfig.from_env(env)
    redis = connect(redis_url)
    job_ids: list[str] = []
    try:
        if mode != "baseline":
            for i, (document, selfie) in enumerate(cases):
                own = root / f"{token}-{i}"  # each case its own upload: a case may not name another's
                own.mkdir()
                for source in (document, selfie):
                    shutil.copy(source, own / source.name)
                job_ids.append(submit({"case_id": f"{token}-{i}", "attempt": 1,
                                       "document_video": str(own / document.name),
                                       "selfie_video": str(own / selfie.name)}, config, connection=redis))
        logs = [tempfile.TemporaryFile(mode="w+") for _ in range(processes)]
        # the baseline processes share the cases out; workers share them through the queue
        envs = [{**env, "KYC_BENCH_CASES": json.dumps([[str(d), str(s)] for d, s in cases[i::processes]])}
                for i in range(processes)]
        procs = [subprocess.Popen([sys.executable, "-c", _PROCESS, mode], cwd=ROOT, env=penv, stdout=log,
                                  stderr=subprocess.DEVNULL, text=True) for log, penv in zip(logs, envs)]
        events: list[dict[str, Any]] = []
        cpu_total = 0.0
        for proc, log in zip(procs, logs):
            # wait4's rusage covers the process and the children it reaped (horses, prefork workers)
            _, _, usage = os.wait4(proc.pid, 0)
            proc.returncode = 0
            cpu_total += usage.ru_utime + usage.ru_stime
            log.seek(0)
            events += [json.loads(line) for line in log.read().splitlines() if line.startswith("{")]
            log.close()
        ready = [e["ready"] for e in events if "ready" in e]
        done = [e["done"] for e in events if "done" in e]
        if len(ready) != processes or len(done) != processes:
            raise RuntimeError(f"a benchmark process failed: {events}")
        outcomes = [] if mode == "baseline" else [result(f"{token}-{i}", 1, config, redis) for i in range(len(cases))]
        if any(o is None or o["status"] == "failed" for o in outcomes):  # a fast failure is no verification
            raise RuntimeError(f"{mode}: not every case was verified: {[o and o['status'] for o in outcomes]}")
        jobs = len(cases)
        wall = max(done) - min(ready)
        cpu_jobs = cpu_total - sum(e["cpu_before_jobs_s"] for e in events if "cpu_before_jobs_s" in e)
        return {"processes": processes, "mode": mode, "jobs": jobs, "wall_s": round(wall, 3),
                "per_s": round(jobs / wall, 3), "wall_per_job_s": round(wall / jobs, 4),
                "cpu_per_job_s": round(cpu_jobs / jobs, 4),
                "load_s": round(statistics.mean(e["load_s"] for e in events if "load_s" in e), 3)}
    finally:
        _cleanup(redis, token, job_ids)


def default_threads_cpu(cases: list[tuple[Path, Path]]) -> dict[str, float]:
    """The library's default Verifier (onnxruntime thread pools) in this process, for comparison."""
    from kycengine.pipeline import Verifier

    verifier = Verifier()
    verifier.verify(*cases[0])
    wall, cpu = time.perf_counter(), time.process_time()
    for document, selfie in cases:
        verifier.verify(document, selfie)
    n = len(cases)
    return {"wall_per_job_s": round((time.perf_counter() - wall) / n, 4),
            "cpu_per_job_s": round((time.process_time() - cpu) / n, 4)}


def measure(*, cases: int, samples: int, size: tuple[int, int], fps: int, modes: list[str],
            rounds: int, parallel: bool, redis_url: str) -> dict[str, Any]:
    """Baseline and worker runs, interleaved by round; the JSON-ready report."""
    warnings.simplefilter("ignore")
    width, height = size
    load_before = os.getloadavg()
    per_round: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kyc-bench-") as folder:
        root = Path(folder)
        pairs = make_samples(root, samples, size, fps)
        jobs = [pairs[i % len(pairs)] for i in range(cases)]
        default = default_threads_cpu(jobs)
        # Rounds interleave the baseline and each mode so that a change in the machine's load hits
        # them alike; the overhead is the median of the per-round differences.
        for _ in range(rounds):
            per_round.append({m: run(jobs, root, redis_url, 1, m) for m in ("baseline", *modes)})
        two = [run(jobs, root, redis_url, 2, m) for m in ("baseline", *modes)] if parallel else []

    def median(values: list[float]) -> float:
        return round(statistics.median(values), 4)

    summary = []
    for mode in ("baseline", *modes):
        runs = [r[mode] for r in per_round]
        row = {"mode": mode, "processes": 1,
               **{k: median([p[k] for p in runs]) for k in ("per_s", "wall_per_job_s", "cpu_per_job_s",
                                                           "load_s")},
               "rounds": runs}
        if mode != "baseline":
            over = median([r[mode]["cpu_per_job_s"] - r["baseline"]["cpu_per_job_s"] for r in per_round])
            row["cpu_overhead_per_job_s"] = over
            row["cpu_overhead_fraction"] = round(
                over / median([r["baseline"]["cpu_per_job_s"] for r in per_round]), 4)
        summary.append(row)
    return {"cases": cases, "rounds": rounds, "size": f"{width}x{height}", "fps": fps,
            "cpu_count": os.cpu_count(), "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
            "default_threads_in_process": default, "one_process": summary, "two_processes": two}


def _label(row: dict[str, Any], processes: int) -> str:
    if row["mode"] == "baseline":
        return "in-process Verifier.verify" if processes == 1 else "2 x in-process processes"
    return f"{processes} x {row['mode']} worker"


def section() -> Any:
    """A short run for `python -m benchmarks`: 6 jobs, 640x360 at 15 fps, prefork workers, 1 and 2."""
    from .report import Section

    report = measure(cases=6, samples=3, size=(640, 360), fps=15, modes=["prefork"], rounds=1,
                     parallel=True, redis_url=os.environ.get("KYC_REDIS_URL", "redis://127.0.0.1:6379/15"))
    rows = [{"setup": _label(row, n), "verifications/s": row["per_s"],
             "wall s/job": row["wall_per_job_s"], "CPU s/job": row["cpu_per_job_s"],
             "CPU overhead/job": (f"{row['cpu_overhead_per_job_s'] * 1000:+.0f} ms "
                                  f"({row['cpu_overhead_fraction']:+.1%})"
                                  if "cpu_overhead_per_job_s" in row else "-")}
            for n, group in ((1, report["one_process"]), (2, report["two_processes"])) for row in group]
    notes = (f"load average {report['loadavg_before'][0]:.1f} -> {report['loadavg_after'][0]:.1f} "
             f"on {report['cpu_count']} cores; CPU overhead = worker CPU per job minus in-process CPU per job",)
    return Section("throughput", "Throughput: RQ workers on a local Redis (640x360, 15 fps samples)",
                   rows, [report], notes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--samples", type=int, default=4, help="distinct generated samples")
    parser.add_argument("--size", default="1280x720", help="capture size (phone-like default)")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--classes", default="prefork,fork,simple")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved repetitions of the 1-process runs")
    parser.add_argument("--no-parallel", action="store_true", help="skip the 2-process runs")
    parser.add_argument("--redis-url", default=os.environ.get("KYC_REDIS_URL", "redis://127.0.0.1:6379/15"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    report = measure(cases=args.cases, samples=args.samples, size=(width, height), fps=args.fps,
                     modes=args.classes.split(","), rounds=args.rounds, parallel=not args.no_parallel,
                     redis_url=args.redis_url)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{args.cases} verifications x {args.rounds} rounds, {report['size']} @ {args.fps} fps samples, "
          f"{os.cpu_count()} CPUs, load average {report['loadavg_before'][0]:.2f} -> "
          f"{report['loadavg_after'][0]:.2f}")
    print(f"{'mode':30} {'verif/s':>8} {'wall s/job':>10} {'CPU s/job':>10} {'CPU overhead/job':>20}")
    for processes, group in ((1, report["one_process"]), (2, report["two_processes"])):
        for row in group:
            over = (f"{row['cpu_overhead_per_job_s'] * 1000:+.0f} ms ({row['cpu_overhead_fraction']:+.1%})"
                    if "cpu_overhead_per_job_s" in row else "-")
            print(f"{_label(row, processes):30} {row['per_s']:8.3f} {row['wall_per_job_s']:10.3f} "
                  f"{row['cpu_per_job_s']:10.3f} {over:>20}")
    default = report["default_threads_in_process"]
    print(f"{'in-process, default threads':30} {1 / default['wall_per_job_s']:8.3f} "
          f"{default['wall_per_job_s']:10.3f} {default['cpu_per_job_s']:10.3f} {'-':>20}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
