"""`python -m benchmarks`: every benchmark in one run; JSON, a Markdown table, a PNG chart, README.

Sections: end-to-end speed, MRZ against PassportEye, face match against face_recognition, and the
others present in this folder (liveness, throughput, Redis outage). A section that fails is reported
as such and the others still run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from .report import RESULTS, Section, machine, markdown, save

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CHART = ROOT / "docs" / "bench.png"  # committed with the README that shows it
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _sections(seeds: int) -> dict[str, Callable[[], Section]]:
    from . import (
        api,
        capture,
        declared_identity,
        end_to_end,
        faces_section,
        liveness,
        memory,
        mrz_lines,
        mrz_peers,
        outage,
        reverify,
        selfie_cost,
        throughput,
        verdicts,
    )

    return {"end_to_end": lambda: end_to_end.run(seeds), "mrz": lambda: mrz_peers.run(seeds),
            "faces": faces_section.run, "selfie_cost": selfie_cost.run, "liveness": lambda: liveness.section(seeds),
            "verdicts": lambda: verdicts.run(max(2, seeds)),
            "declared_identity": lambda: declared_identity.run(max(2, seeds)),
            "throughput": throughput.section, "outage": outage.section, "reverify": reverify.run,
            "mrz_lines": lambda: mrz_lines.run(max(2, seeds)), "memory": lambda: memory.run(20),
            "api": api.section,
            "capture": capture.run}


def _chart(sections: list[Section], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    speed = next((s for s in sections if s.key == "end_to_end"), None)
    if speed:
        cases = [r["case"] for r in speed.table]
        axes[0].barh(cases, [r["x decode floor"] for r in speed.table], color="#3b6ea5")
        axes[0].axvline(2.0, color="#c0392b", linestyle="--", label="2x decode")
        axes[0].set_xlabel("end-to-end time / decode-only time")
        axes[0].legend()
    mrz = next((s for s in sections if s.key == "mrz"), None)
    if mrz:
        rows = [r for r in mrz.table if "kyc rectified correct" in r]
        labels = [f"{r['document']}/{r['filming']}" for r in rows]
        ours = [int(r["kyc rectified correct"].split("/")[0]) / int(r["cases"]) for r in rows]
        peer = [int(r["PassportEye rectified correct"].split("/")[0]) / int(r["cases"]) for r in rows]
        y = range(len(labels))
        axes[1].barh([v + 0.2 for v in y], ours, height=0.4, label="kycengine", color="#3b6ea5")
        axes[1].barh([v - 0.2 for v in y], peer, height=0.4, label="PassportEye", color="#999999")
        axes[1].set_yticks(list(y), labels)
        axes[1].set_xlabel("MRZ read correctly, equal to the printed MRZ (rectified frames)")
        axes[1].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _block(section: Section, seconds: float) -> str:
    """One section between its own markers, so that a later `--only` run replaces just it."""
    return (f"<!-- bench:{section.key} -->\n{markdown(section)}\n"
            f"_Measured {dt.date.today().isoformat()} ({seconds:.0f} s)._\n<!-- /bench:{section.key} -->")


def _update_readme(header: str, blocks: dict[str, str], order: list[str], full: bool) -> None:
    """Rewrite README's Performance block: all of it after a full run; after `--only`, only the
    sections that ran (in place, or before the chart when new), the others keep their numbers."""
    readme = README.read_text(encoding="utf-8")
    if START not in readme:
        readme += f"\n## Performance\n\n{START}\n{END}\n"
    head, rest = readme.split(START, 1)
    current, tail = rest.split(END, 1)
    if full:
        body = "\n".join([header, "", *blocks.values(), "![benchmark chart](docs/bench.png)"])
    else:
        kept = {key: m.group(0) for key, m in ((k, re.search(f"<!-- bench:{k} -->.*?<!-- /bench:{k} -->",
                                                                current, re.S)) for k in order) if m}
        kept.update(blocks)
        chart = "![benchmark chart](docs/bench.png)" if "docs/bench.png" in current else ""
        lines = [line for line in current.strip().splitlines()[:1] if not line.startswith("<!--")]
        body = "\n".join([*lines, "", *(kept[k] for k in order if k in kept), chart]).strip()
    README.write_text(f"{head}{START}\n{body}\n{END}{tail}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--seeds", type=int, default=1, help="corpus seeds per document kind and filming")
    parser.add_argument("--only", action="append", help="run only these sections (README: only theirs change)")
    parser.add_argument("--no-readme", action="store_true", help="do not rewrite README's Performance")
    args = parser.parse_args()
    started = time.perf_counter()
    sections: list[Section] = []
    blocks: dict[str, str] = {}
    failed: list[str] = []
    every = _sections(args.seeds)
    for key, run in every.items():
        if args.only and key not in args.only:
            continue
        print(f"== {key}", flush=True)
        begin = time.perf_counter()
        try:
            section = run()
        except Exception:  # one broken harness must not hide the others' numbers
            traceback.print_exc()
            failed.append(key)
            continue
        save(section)
        sections.append(section)
        blocks[section.key] = _block(section, time.perf_counter() - begin)
        print(markdown(section), f"({time.perf_counter() - begin:.0f} s)", flush=True)
    header = (f"Measured on {machine()}; a full `make bench` took {time.perf_counter() - started:.0f} s. "
              "Each section gives its own date: `python -m benchmarks --only KEY` re-measures one.")
    body = "\n".join([header, "", *(markdown(s) for s in sections)])
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench.md").write_text(body, encoding="utf-8")
    (RESULTS / "bench.json").write_text(json.dumps([asdict(s) for s in sections], indent=1, default=str))
    if not args.no_readme and blocks:
        full = not args.only and not failed
        if full:  # the chart draws from every section: only a complete run redraws it
            CHART.parent.mkdir(exist_ok=True)
            _chart(sections, CHART)
        _update_readme(header, blocks, list(every), full)
    print(header)
    if failed:
        print(f"failed sections: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
