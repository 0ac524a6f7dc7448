"""Where benchmarks write their results: ``benchmarks/results/<name>.md``, also printed."""

from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def write_markdown(name: str, lines: list[str]) -> str:
    """Join ``lines``, write them to ``results/<name>.md``, print them, and return the text."""
    text = "\n".join(lines) + "\n"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.md").write_text(text)
    print(text)
    return text
