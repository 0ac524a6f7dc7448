"""YAML read with limits: every scenario file, batch file, ``--set`` and ``-p`` value goes through here.

``yaml.safe_load`` alone lets a short file expand into billions of nodes through aliases (the
"billion laughs"), lets a deep nesting overflow the stack, and keeps the last of two equal keys
without a word. :func:`load_yaml` composes the document first (libyaml where available), checks
its size before anything is built from it, then constructs it with duplicate keys refused:

* at most :data:`MAX_BYTES` bytes of text;
* at most :data:`MAX_NODES` nodes once aliases are expanded (a scenario has about 400);
* at most :data:`MAX_DEPTH` levels of nesting; no alias that contains itself;
* every key of a mapping once.

Every refusal is an :class:`~sim.errors.InputError` naming the source and the line (never the
file's contents beyond the offending key).
"""

from __future__ import annotations

from typing import Any

import yaml

from sim.errors import InputError, Problem

__all__ = ["MAX_BYTES", "MAX_NODES", "MAX_DEPTH", "MAX_CHARS", "MAX_NUMBER", "load_yaml", "read_capped"]

MAX_BYTES = 1 << 20
"""Largest YAML text read (bytes): 1 MiB, about 200 times the largest shipped scenario."""

MAX_NODES = 100_000
"""Most nodes a document may expand to (aliases counted as often as they are used)."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists."""

MAX_CHARS = 4 * MAX_BYTES
"""Most characters of text a document may expand to (a long string aliased many times counts each time)."""

MAX_NUMBER = 100
"""Longest number written in a document (characters): turning a longer one into a number takes quadratic time."""

_NUMBER_TAGS = ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
_MERGE_TAG = "tag:yaml.org,2002:merge"


def read_capped(path, source: str) -> bytes:
    """The bytes of the file at ``path``, refused (InputError) once more than :data:`MAX_BYTES` have been read.

    The file is never read past the cap, so a huge file costs no memory.
    """
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as exc:
        raise InputError([Problem(source, "(file)", source, f"a readable file ({exc.strerror or exc})")]) from None
    if len(data) > MAX_BYTES:
        raise InputError([Problem(source, "(file)", f"more than {MAX_BYTES:,} bytes",
                                  f"at most {MAX_BYTES:,} bytes of YAML")])
    return data

_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Duplicate(Exception):
    def __init__(self, key: object, line: int) -> None:
        self.key, self.line = key, line


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """The safe loader whose mappings refuse a key given twice."""

    def construct_mapping(self, node, deep=False):  # noqa: D102
        if isinstance(node, yaml.MappingNode):
            seen = set()
            for key_node, _ in node.value:  # the mapping's own keys; merged ones (<<) may be overridden
                if key_node.tag == _MERGE_TAG:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    fresh = key not in seen
                except TypeError:  # an unhashable key: SafeConstructor reports it below
                    continue
                if not fresh:
                    raise _Duplicate(key, key_node.start_mark.line + 1)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node, source: str) -> None:
    """Raise InputError if ``root`` expands to more than MAX_NODES nodes or MAX_CHARS characters, nests deeper
    than MAX_DEPTH, holds an alias to itself or a number longer than MAX_NUMBER. Linear in the number of
    distinct nodes (sizes are memoised)."""
    sizes: dict[int, tuple[int, int]] = {}
    on_path: set[int] = set()

    def line(n: yaml.Node) -> str:
        return f"line {n.start_mark.line + 1}"

    def too_big(n: yaml.Node, what: str) -> InputError:
        return InputError([Problem(source, line(n), f"more than {what} (aliases expanded)",
                                   f"a document of at most {MAX_NODES:,} values and {MAX_CHARS:,} characters")])

    def walk(n: yaml.Node, depth: int) -> tuple[int, int]:
        key = id(n)
        if key in sizes:
            return sizes[key]
        if depth > MAX_DEPTH:
            raise InputError([Problem(source, line(n), f"nesting deeper than {MAX_DEPTH}",
                                      f"at most {MAX_DEPTH} levels of mappings and lists")])
        if key in on_path:
            raise InputError([Problem(source, line(n), "an alias inside its own anchor", "no recursive aliases")])
        nodes, chars = 1, 0
        if isinstance(n, yaml.ScalarNode):
            chars = len(n.value)
            if n.tag in _NUMBER_TAGS and chars > MAX_NUMBER:
                raise InputError([Problem(source, line(n), f"a number of {chars:,} characters",
                                          f"numbers of at most {MAX_NUMBER} characters")])
        else:
            on_path.add(key)
            children = n.value if isinstance(n, yaml.SequenceNode) else [c for kv in n.value for c in kv]
            for c in children:
                cn, cc = walk(c, depth + 1)
                nodes, chars = nodes + cn, chars + cc
                if nodes > MAX_NODES:
                    raise too_big(n, f"{MAX_NODES:,} values")
                if chars > MAX_CHARS:
                    raise too_big(n, f"{MAX_CHARS:,} characters")
            on_path.discard(key)
        sizes[key] = (nodes, chars)
        return nodes, chars

    walk(root, 0)


def _unshared(x: Any) -> Any:
    """``x`` with every mapping and list its own: an alias becomes a copy, as if written out, so that changing
    one place (an override, a merge) never changes another that aliased it. Depth is bounded by
    :data:`MAX_DEPTH` and size by :data:`MAX_NODES` (checked before)."""
    if isinstance(x, dict):
        return {k: _unshared(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_unshared(v) for v in x]
    return x


def load_yaml(text: str | bytes, source: str) -> Any:
    """Parse one YAML document within the limits above; ``None`` for an empty document.

    Parameters
    ----------
    text : str or bytes
        The YAML text (bytes are read as UTF-8).
    source : str
        The name that starts each problem line (a file path, ``--set``, ``-p NAME``).

    An alias gives an independent copy of its anchor's value.

    Raises
    ------
    InputError
        Too large, too deep, self-referring, a duplicate key, not UTF-8, or not valid YAML; the
        problem names the line, never quotes the file beyond the offending key.
    """
    if isinstance(text, str):
        try:
            text = text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates: bytes of a command line that were not UTF-8
            raise InputError([Problem(source, "(text)", "undecodable bytes", "UTF-8 text")]) from None
    size = len(text)
    if size > MAX_BYTES:
        raise InputError([Problem(source, "(file)", f"{size:,} bytes", f"at most {MAX_BYTES:,} bytes of YAML")])
    try:
        text = text.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError([Problem(source, "(file)", "binary", "UTF-8 YAML text")]) from None
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, source)
        return _unshared(loader.construct_document(node))
    except _Duplicate as dup:
        key = dup.key if isinstance(dup.key, (str, int, float, bool)) else type(dup.key).__name__
        raise InputError([Problem(source, f"line {dup.line}", key, "each key once in a mapping")]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(file)"
        what = getattr(exc, "problem", None) or "parse error"
        raise InputError([Problem(source, where, what, "valid YAML")]) from None
    except RecursionError:
        raise InputError([Problem(source, "(file)", f"nesting deeper than {MAX_DEPTH}",
                                  f"at most {MAX_DEPTH} levels of mappings and lists")]) from None
    finally:
        loader.dispose()
