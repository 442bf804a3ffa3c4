"""Benchmark sections, printed as Markdown tables and saved as JSON."""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

T = TypeVar("T")
RESULTS = Path(__file__).with_name("results")


@dataclass(frozen=True)
class Section:
    """One benchmark's summary table (rows of equal keys) and its raw per-case data."""

    key: str
    title: str
    table: list[dict[str, Any]]
    raw: list[dict[str, Any]] = field(default_factory=list)
    notes: tuple[str, ...] = ()


def markdown(section: Section) -> str:
    """The section as a Markdown heading, table and notes."""
    lines = [f"### {section.title}", ""]
    if section.table:
        columns = list(section.table[0])
        lines.append("| " + " | ".join(columns) + " |")
        lines.append("|" + "---|" * len(columns))
        for row in section.table:
            lines.append("| " + " | ".join(_cell(row.get(c, "")) for c in columns) + " |")
    lines += ["", *(f"- {note}" for note in section.notes)]
    return "\n".join(lines).rstrip() + "\n"


def _cell(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def progress(items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
    """`items`, counted on stderr as they are done (a section can take most of an hour on 2 cores)."""
    yield from tqdm(items, desc=label, total=total, unit="case", mininterval=10, dynamic_ncols=True)


def machine() -> str:
    """One line naming the machine the numbers come from."""
    import os

    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
            f"Python {platform.python_version()}, {platform.system()}")


def save(section: Section) -> Path:
    """Write the section's JSON under benchmarks/results/."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{section.key}.json"
    path.write_text(json.dumps(asdict(section), indent=2, default=str))
    return path


def main_for(run: Callable[[], Section]) -> None:
    """Run one benchmark from the command line: print its table, save its JSON."""
    section = run()
    print(markdown(section))
    print(f"saved {save(section)}")
