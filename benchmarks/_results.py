"""Shared by the benchmarks: where they write their results (``benchmarks/results/<name>.md``, also printed) and
the machine's processor model."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_model(default: str = "unknown CPU") -> str:
    """The processor's model name from /proc/cpuinfo (``default`` where it cannot be read)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return default


def write_markdown(name: str, lines: list[str]) -> str:
    """Join ``lines``, write them to ``results/<name>.md``, print them, and return the text."""
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
    return text
