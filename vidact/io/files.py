"""Atomic writes (temp file + rename) and JSON reading that names the file on error.

JSON is parsed with msgspec when installed (several times faster than `json` on the 30 MB results
files `vidact eval` reads, with the same values); `json` is the fallback and reports error positions.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

from vidact.errors import InputError

T = TypeVar("T")


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temp file beside `path`; on success fsync and rename it over `path`.

    A crash or exception leaves any previous `path` untouched and removes the temp file. The
    file ends with the mode a plain `open(path, "w")` gives: an existing file's, else 0666
    less the umask.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, _file_mode(path))
        with os.fdopen(fd, mode, **kwargs) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def make_temp_dir(target: str | os.PathLike, tag: str = "partial") -> Path:
    """A new hidden folder `.{name}.{tag}-XXXX` beside `target`, to fill and rename onto it.

    Its mode is the one `mkdir` gives under the current umask, not `mkdtemp`'s 0700, so the
    folder the rename publishes is as readable as any other the user creates.
    """
    target = Path(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.{tag}-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~current_umask())
    return tmp


def current_umask() -> int:
    """The process's umask (read without changing it where /proc tells it)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # no other way to read it: set and restore at once
    os.umask(mask)
    return mask


def _file_mode(path: Path) -> int:
    """The mode `open(path, "w")` would leave: the existing file's, else 0666 less the umask.

    `mkstemp` creates its file 0600, which would hide every atomically written file from the
    user's group and others whatever their umask says.
    """
    with contextlib.suppress(OSError):
        return stat.S_IMODE(path.stat().st_mode)
    return 0o666 & ~current_umask()


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write `text` to `path` atomically (UTF-8)."""
    with atomic_write(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)


def _existing_file(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, expected a file")
    return p


def read_text(path: str | os.PathLike) -> str:
    """Read a text file, or standard input when `path` is '-'."""
    if str(path) == "-":
        return sys.stdin.read()
    p = _existing_file(path)
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{p}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None


def read_source(path: str | os.PathLike) -> bytes | str:
    """The bytes of a file, or the text of standard input when `path` is '-' (for `parse_json`)."""
    if str(path) == "-":
        return sys.stdin.read()
    prefetched = _prefetched.pop(os.fspath(path), None)
    if prefetched is not None:
        prefetched[0].join()
        if prefetched[1]:
            return prefetched[1][0]
    return _existing_file(path).read_bytes()


_prefetched: dict[str, tuple[Any, list[bytes]]] = {}


def prefetch(path: str | os.PathLike) -> None:
    """Start reading a regular file on a thread; the next `read_source` of the same path takes its
    bytes (a one-shot command reads its inputs while it imports its libraries). Anything unusual
    (stdin, no such file, a read error) is left to `read_source`, which then reads and reports."""
    import threading

    key = os.fspath(path)
    if key == "-" or key in _prefetched:
        return
    holder: list[bytes] = []

    def read() -> None:
        with contextlib.suppress(OSError):
            if stat.S_ISREG(os.stat(key).st_mode):
                with open(key, "rb") as fh:
                    holder.append(fh.read())

    thread = threading.Thread(target=read, name="prefetch", daemon=True)
    _prefetched[key] = (thread, holder)
    thread.start()


def forget_prefetched() -> None:
    """Drop what `prefetch` started and no `read_source` took (a command that failed before reading
    all its inputs)."""
    _prefetched.clear()


def read_json(path: str | os.PathLike) -> Any:
    """Parse a JSON file (or stdin for '-'); errors name the file, line and column."""
    return parse_json(read_source(path), "<stdin>" if str(path) == "-" else str(path))


def parse_json(source: bytes | str, name: str) -> Any:
    """Parse JSON text read by `read_source`: the values `json.loads` gives, errors naming `name`.

    msgspec parses when it is installed and takes the input; anything it refuses (NaN, lone
    surrogate escapes, which `json` accepts, or malformed input) goes to `json`, which gives the
    same values and the line and column of an error.

    Raises:
        InputError: not UTF-8, or malformed JSON.
    """
    msgspec = _msgspec()
    if msgspec is not None:
        try:
            with gc_paused():
                return msgspec.json.decode(source)
        except (msgspec.DecodeError, ValueError):  # ValueError: invalid UTF-8 in a string
            pass
    text = source if isinstance(source, str) else _decode_utf8(source, name)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None


def decode_json_as(source: bytes | str, schema: type[T]) -> T | None:
    """Decode JSON text straight into `schema` (a type msgspec decodes: Structs, dataclasses, ...), or None.

    A fast path for readers of large files: fields not in the schema are skipped, and values are
    checked against the field types as they are read, with no intermediate dicts. None (msgspec
    not installed, malformed JSON, NaN, a value of another type, ...) means: parse with
    `parse_json` and validate entry by entry, which also names the problem. Values that decode
    equal what `json.loads` gives, ints read into float fields as `float(int)` would.
    """
    msgspec = _msgspec()
    if msgspec is None or not _is_utf8(source):
        return None
    try:
        with gc_paused():
            return _decoder(schema).decode(source)
    except (msgspec.DecodeError, ValueError):
        return None


@functools.cache
def _msgspec() -> Any:
    try:
        import msgspec
    except ImportError:  # optional speed-up: `json` gives the same values
        return None
    return msgspec


@functools.cache
def _decoder(schema: type) -> Any:
    return _msgspec().json.Decoder(schema)


def _is_utf8(source: bytes | str) -> bool:
    # msgspec does not check the UTF-8 of strings it skips; `json` would refuse the whole file.
    if isinstance(source, str) or source.isascii():
        return True
    try:
        source.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _decode_utf8(source: bytes, name: str) -> str:
    """The text `Path.read_text(encoding="utf-8")` gives (newlines translated, so error
    positions match what `json` reports on that text)."""
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{Path(name)}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off while a reader builds many cycle-free containers.

    A 30 MB results file becomes about a million objects; with the collector on, CPython rescans
    them again and again as they are created, which triples the time to read the file.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
