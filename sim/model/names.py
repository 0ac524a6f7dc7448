"""Names that become folder names: slugs, checked where they are declared (scenario and batch files).

A slug is 1 to 64 characters: ASCII letters, digits, ``_`` and ``-``, and Chinese characters (CJK
unified ideographs); it does not start with ``-``. So a name is never a path (no separator, no
dot, never ``.`` or ``..``), never a flag, never markup (no ``$``), and reads the same in every
file system.
"""

from __future__ import annotations

import re

__all__ = ["SLUG_RULE", "is_slug", "check_slug"]

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_SLUG = re.compile(f"[A-Za-z0-9_{_CJK}][A-Za-z0-9_{_CJK}-]{{0,63}}")

SLUG_RULE = "1-64 letters, digits, '_' or '-' (Chinese characters allowed), not starting with '-'"
"""The rule in words, as error messages state it."""


def is_slug(text: object) -> bool:
    """True if ``text`` is a string that is a slug (see the module docstring)."""
    return isinstance(text, str) and _SLUG.fullmatch(text) is not None


def check_slug(text: str) -> str:
    """Return ``text`` if it is a slug; raise ``ValueError`` stating :data:`SLUG_RULE` otherwise."""
    if not is_slug(text):
        raise ValueError(SLUG_RULE)
    return text
