"""Output folders that never replace a user's folder and never hold a half-written result.

:class:`OutputFolder` claims a folder *before* the work (a run, a report) starts and puts the
result in place only when the work has succeeded:

1. claim: the path is checked (a folder name, not the working folder or one of its parents, not
   a symbolic link, not under a file); an existing folder is accepted only if it is empty or was
   written by the same command (its manifest says so and lists every file in it); the parents are
   created and a temporary folder ``.<name>.tmp-<pid>-<random>`` is made next to it, with the
   permissions the umask gives. So a read-only place, a path under a file or a user's folder is
   refused in one line before any simulation.
2. the caller writes into :attr:`OutputFolder.tmp` and sets :attr:`OutputFolder.manifest`;
3. commit: the manifest is written with ``written_by`` and the list of files, the old folder (if
   any) is moved aside, the new one renamed into place, the old one removed.

On an error (or Ctrl-C) the temporary folder and any parent folders it created are removed.
Temporary folders left by a process that was killed (``kill -9``) are removed by the next claim
of the same folder.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from sim.errors import InputError, Problem

__all__ = ["OutputFolder", "PARTIAL"]

PARTIAL = ".sim-partial"
"""File inside a temporary folder that marks it as ours and names the process building it."""


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o777 & ~mask


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() or p.is_symlink()}


class OutputFolder:
    """A folder written atomically by one command (see the module docstring).

    Parameters
    ----------
    out : str or Path
        The folder to write.
    writer : str
        The command writing it, e.g. ``"sim run"``; recorded in the manifest as ``written_by``.
    manifest_name : str
        The manifest's file name inside the folder (``manifest.json``, ``report.json``).
    legacy : (callable, frozenset) or None
        How to recognise a folder an older version of ``writer`` wrote (its manifest had no
        ``written_by``): a test of each file's path (relative to the folder) and the keys its
        manifest must have. Such a folder may be replaced if it holds only such files.
    field : str
        The flag or parameter that named the folder, for error messages.
    """

    def __init__(self, out: str | Path, writer: str, manifest_name: str,
                 legacy: tuple[Callable[[str], bool], frozenset] | None = None, field: str = "--out") -> None:
        self.out = Path(os.path.abspath(out))
        self.given = str(out)
        self.writer = writer
        self.manifest_name = manifest_name
        self.legacy = legacy
        self.field = field
        self.manifest: dict = {}
        self.tmp: Path | None = None
        self._created: list[Path] = []

    # --- checks ---------------------------------------------------------------------------------

    def _refuse(self, allowed: str) -> InputError:
        return InputError([Problem(self.writer, self.field, self.given, allowed)])

    def replaceable(self) -> None:
        """Raise :class:`InputError` unless :attr:`out` is absent, empty, or written by :attr:`writer`."""
        out = self.out
        if out.is_symlink():
            raise self._refuse("a folder path, not a symbolic link")
        if not out.exists():
            return
        if not out.is_dir():
            raise self._refuse("a folder path (this is an existing file)")
        present = _files(out)
        if not present and not any(out.iterdir()):
            return
        ours = self._listed(out)
        if ours is None:
            raise self._refuse(f"a new or empty folder, or one written by '{self.writer}' "
                               "(this one was not: choose another folder)")
        extra = sorted(present - ours) or sorted(str(p.relative_to(out)) for p in out.rglob("*")
                                                 if p.is_dir() and not any(p.iterdir()))
        if extra:
            raise self._refuse(f"a folder holding only what '{self.writer}' wrote (this one also holds "
                               f"{extra[0]!r}: move it, or choose another folder)")

    def _listed(self, folder: Path) -> set[str] | None:
        """The files the manifest in ``folder`` says the writer wrote, or None if it is not ours."""
        try:
            doc = json.loads((folder / self.manifest_name).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            return None
        if not isinstance(doc, dict):
            return None
        if doc.get("written_by") == self.writer and isinstance(doc.get("files"), list):
            return {str(f) for f in doc["files"]} | {self.manifest_name}
        present = _files(folder)
        if "written_by" not in doc and self.legacy is not None:
            is_ours, keys = self.legacy
            if keys <= set(doc) and all(is_ours(f) for f in present):
                return present
        return None

    # --- claim, commit, abort ---------------------------------------------------------------------

    def claim(self) -> OutputFolder:
        """Check the folder and make the temporary one next to it; raise InputError if it cannot be used."""
        try:
            str(self.out).encode("utf-8")
        except UnicodeEncodeError:
            raise self._refuse("a folder path of UTF-8 characters") from None
        try:
            self._claim()
        except (OSError, RuntimeError) as exc:  # a name too long, a symbolic link loop, a place not writable
            self.abort()
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise self._refuse(f"a folder that can be written ({why})") from None
        return self

    def _claim(self) -> None:
        out = self.out
        cwd = Path.cwd().resolve()
        if not out.name or out.name in (".", ".."):
            raise self._refuse("a folder path with a name")
        real = out.resolve()
        if real == cwd or real in cwd.parents:
            raise self._refuse("a folder other than the working folder or one of its parents")
        self.replaceable()
        parent = out.parent
        missing = []
        p = parent
        while not p.exists():
            missing.append(p)
            p = p.parent
        if not p.is_dir():
            raise self._refuse(f"a folder path ({p} is a file)")
        for d in reversed(missing):
            d.mkdir()
            self._created.append(d)
        self._clean_stale(parent)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=parent))
        self.tmp.chmod(_umask_mode())
        (self.tmp / PARTIAL).write_text(f"{os.getpid()}\n")

    def _clean_stale(self, parent: Path) -> None:
        """Remove temporary and set-aside folders of this output left by processes that no longer run."""
        for kind in ("tmp", "old"):
            prefix = f".{self.out.name}.{kind}-"
            for d in parent.iterdir():
                if not d.name.startswith(prefix):
                    continue
                pid, sep, rest = d.name[len(prefix):].partition("-")
                if not (pid.isdigit() and sep and rest) or d.is_symlink() or not d.is_dir():
                    continue
                ours = (d / PARTIAL).is_file() if kind == "tmp" else self._listed(d) is not None
                if ours and not _alive(int(pid)):
                    shutil.rmtree(d, ignore_errors=True)

    def commit(self) -> Path:
        """Write the manifest and put the folder in place (replacing our own earlier one)."""
        tmp = self.tmp
        if tmp is None:  # committed already (a nested ``with``), or never claimed
            if not self.out.is_dir():
                raise RuntimeError("OutputFolder.commit() before claim()")
            return self.out
        try:
            (tmp / PARTIAL).unlink(missing_ok=True)
            files = sorted(_files(tmp) - {self.manifest_name})
            doc = {"written_by": self.writer, **self.manifest, "files": files}
            (tmp / self.manifest_name).write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                                                  encoding="utf-8")
            self.replaceable()  # again: something may have appeared there during the work
            if self.out.is_dir() and not any(self.out.iterdir()):  # an empty folder of the user's: fill it
                for entry in tmp.iterdir():
                    os.replace(entry, self.out / entry.name)
                tmp.rmdir()
            elif self.out.exists():
                old = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.old-{os.getpid()}-", dir=self.out.parent))
                os.replace(self.out, old)
                os.replace(tmp, self.out)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, self.out)
        except OSError as exc:
            self.abort()
            raise self._refuse(f"a folder that can be written ({exc.strerror or exc})") from None
        except BaseException:
            self.abort()
            raise
        self.tmp = None
        return self.out

    def abort(self) -> None:
        """Remove the temporary folder and the parents this claim created (if still empty)."""
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        for d in reversed(self._created):
            try:
                d.rmdir()
            except OSError:
                break
        self._created = []

    def __enter__(self) -> OutputFolder:
        return self.claim() if self.tmp is None else self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
            return
        self.abort()
        if isinstance(exc, OSError):
            raise self._refuse(f"a folder that can be written ({exc.strerror or exc})") from None
