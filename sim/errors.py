"""Exceptions of the credit policy lab; all derive from :class:`SimError`.

The command line turns every :class:`InputError` into one line per problem on
stderr and exit code 2 (see :mod:`sim.cli`).
"""

from __future__ import annotations

__all__ = ["SimError", "InputError", "Problem"]


class SimError(Exception):
    """Base class of every error this package raises on purpose."""


class Problem:
    """One bad input: where it is, what it holds, and what is allowed.

    Parameters
    ----------
    source : str
        File name, ``--set`` or the flag that carried the value.
    path : str
        Dotted field path inside the scenario (``policy.tiers.A``), or the flag.
    value : object
        The offending value as given.
    allowed : str
        Plain-language statement of what is allowed.
    """

    __slots__ = ("source", "path", "value", "allowed")

    def __init__(self, source: str, path: str, value: object, allowed: str) -> None:
        self.source = source
        self.path = path
        self.value = value
        self.allowed = allowed

    def __str__(self) -> str:
        value = self.value
        shown = "''" if value == "" else _short(value)
        return f"{_short(self.source)}: {_short(self.path)}: {shown}: {self.allowed}"


def _short(value: object, most: int = 240) -> str:
    """``value`` as printable text of at most ``most`` characters (long enough for a path, short enough for a line)."""
    try:
        text = str(value)
    except ValueError:  # an integer too long to print
        text = f"a number of {value.bit_length() if isinstance(value, int) else '?'} bits"
    if len(text) > most:
        text = text[:most - 3] + "..."
    return _printable(text)


def _printable(text: str) -> str:
    """``text`` with control characters (newlines, escapes) written as escapes, so a problem stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                   for c in text)


class InputError(SimError):
    """Bad input: a list of :class:`Problem`, each printed on its own line."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
