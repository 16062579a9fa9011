"""Small helpers with the names of the reference's `mmaction.utils`: the package logger, random
names, the OS thread id and the shared-memory folder.

Library code logs through `logging.getLogger(__name__)`; `get_root_logger` is for user scripts
ported from MMAction that expect one configured package logger.
"""

from __future__ import annotations

import logging
import os
import random
import string
import tempfile
import threading

ROOT_LOGGER = "vidact"
_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
_initialized: set[str] = set()


def _rank() -> int:
    """This process's rank: from the process group when there is one, else torchrun's RANK."""
    from vidact.engine.distributed import get_rank

    rank = get_rank()
    return rank if rank else int(os.environ.get("RANK", "0") or 0)


def get_root_logger(log_file: str | os.PathLike | None = None, log_level: int = logging.INFO) -> logging.Logger:
    """The package logger ("vidact"), configured on the first call as the reference does.

    The first call adds a stderr handler (unless the logger already has handlers, e.g. the
    CLI's), a file handler writing `log_file` (mode 'w') on rank 0 only, and sets the level to
    `log_level` on rank 0 and ERROR elsewhere. Later calls return the same logger unchanged,
    whatever their arguments (as the reference).

    Raises:
        TypeError: `log_level` is not an int (e.g. the name 'INFO'; use `logging.INFO`).
    """
    if isinstance(log_level, bool) or not isinstance(log_level, int):
        raise TypeError(f"get_root_logger: log_level must be an int such as logging.INFO, got {log_level!r}")
    logger = logging.getLogger(ROOT_LOGGER)
    if ROOT_LOGGER in _initialized:
        return logger
    rank = _rank()
    handlers: list[logging.Handler] = []
    if not logger.handlers:
        handlers.append(logging.StreamHandler())
    if rank == 0 and log_file is not None:
        handlers.append(logging.FileHandler(os.fspath(log_file), mode="w", encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.setLevel(log_level)
        logger.addHandler(handler)
    logger.setLevel(log_level if rank == 0 else logging.ERROR)
    _initialized.add(ROOT_LOGGER)
    return logger


def get_random_string(length: int = 15) -> str:
    """`length` random ASCII letters and digits, drawn with Python's `random` (seedable)."""
    if isinstance(length, bool) or not isinstance(length, int):
        raise TypeError(f"get_random_string: length must be an int, got {length!r}")
    if length < 0:
        raise ValueError(f"get_random_string: length must be >= 0, got {length}")
    alphabet = string.ascii_letters + string.digits
    return "".join(random.choice(alphabet) for _ in range(length))


def get_thread_id() -> int:
    """The operating system's id of the calling thread (Linux: the gettid() value)."""
    return threading.get_native_id()


def get_shm_dir() -> str:
    """The shared-memory folder: '/dev/shm' (the reference's answer), or the temp folder on
    systems without one."""
    return "/dev/shm" if os.path.isdir("/dev/shm") else tempfile.gettempdir()
