"""vidact.utils: the reference's mmaction.utils helpers."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import random
import string
import sys
import threading

import pytest

from vidact import utils


@pytest.fixture
def fresh_logger():
    logger = logging.getLogger("vidact")
    saved = (list(logger.handlers), logger.level, set(utils._initialized), logger.propagate)
    logger.handlers.clear()
    # Propagating, as a fresh process has it: pytest attaches its capture handlers to loggers that do
    # not propagate (the CLI's, once an earlier test ran a command), which would count as handlers here.
    logger.propagate = True
    utils._initialized.clear()
    yield logger
    for handler in logger.handlers:
        handler.close()
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[3]
    utils._initialized.clear()
    utils._initialized.update(saved[2])


def test_get_root_logger_writes_the_file_on_rank_zero_once(fresh_logger, tmp_path, monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    log_file = tmp_path / "run.log"
    logger = utils.get_root_logger(log_file, logging.DEBUG)
    assert logger is fresh_logger and logger.level == logging.DEBUG
    kinds = sorted(type(h).__name__ for h in logger.handlers)
    assert kinds == ["FileHandler", "StreamHandler"]
    # Later calls return the same logger unchanged, as the reference's get_logger.
    assert utils.get_root_logger(tmp_path / "other.log", logging.ERROR) is logger
    assert len(logger.handlers) == 2 and logger.level == logging.DEBUG
    logging.getLogger("vidact.engine.trainer").info("epoch 1 done")
    for handler in logger.handlers:
        handler.flush()
    assert "vidact.engine.trainer - INFO - epoch 1 done" in log_file.read_text()
    assert not (tmp_path / "other.log").exists()


def test_get_root_logger_on_other_ranks_has_no_file_and_logs_errors_only(fresh_logger, tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    logger = utils.get_root_logger(tmp_path / "run.log")
    assert [type(h).__name__ for h in logger.handlers] == ["StreamHandler"]
    assert logger.level == logging.ERROR and not (tmp_path / "run.log").exists()
    with pytest.raises(TypeError, match="log_level must be an int"):
        utils._initialized.clear()
        utils.get_root_logger(None, "INFO")


def test_get_random_string_draws_like_the_reference():
    random.seed(7)
    expected = "".join(random.choice(string.ascii_letters + string.digits) for _ in range(15))
    random.seed(7)
    assert utils.get_random_string() == expected
    assert len(utils.get_random_string(4)) == 4 and utils.get_random_string(0) == ""
    with pytest.raises(TypeError, match="length must be an int"):
        utils.get_random_string(2.0)
    with pytest.raises(ValueError, match="length must be >= 0, got -1"):
        utils.get_random_string(-1)


def test_get_thread_id_is_the_os_thread_id():
    ids = {}
    thread = threading.Thread(target=lambda: ids.setdefault("t", utils.get_thread_id()))
    thread.start()
    thread.join()
    assert ids["t"] != utils.get_thread_id()
    if sys.platform == "linux" and ctypes.util.find_library("c"):
        import platform

        if platform.machine() == "x86_64":  # the reference's syscall(186) is gettid on x86-64
            assert utils.get_thread_id() == ctypes.CDLL(ctypes.util.find_library("c")).syscall(186)


def test_get_shm_dir():
    expected = "/dev/shm" if sys.platform == "linux" else None
    assert utils.get_shm_dir() == expected or expected is None
