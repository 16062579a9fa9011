"""`vidact/__main__.py`'s exit without teardown (used after `extract-frames`): the exit code, the
atexit functions and everything written survive it; a running non-daemon thread or a message
exit falls back to the interpreter's own exit."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_SCRIPT = textwrap.dedent("""
    import atexit, sys, threading, time
    from vidact.__main__ import _without_teardown

    def app():
        atexit.register(lambda: print("atexit ran", file=sys.stderr))
        sys.stdout.write("x" * 200000 + "\\n")  # more than one buffer's worth, unflushed
        if {thread!r}:
            threading.Thread(target=lambda: (time.sleep(0.3), print("thread done", file=sys.stderr))).start()
        if {code!r} != "return":
            sys.exit({code!r})

    _without_teardown(app)
    print("after", file=sys.stderr)  # reached only on the fallback
""")


def _run(code, thread: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _SCRIPT.format(code=code, thread=thread)],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("code", "status"), [("return", 0), (None, 0), (0, 0), (1, 1), (3, 3)])
def test_exits_with_the_code_after_atexit_and_output(code, status: int):
    done = _run(code)
    assert done.returncode == status
    assert done.stdout == "x" * 200000 + "\n"
    assert done.stderr == "atexit ran\n"


def test_a_message_exit_takes_the_normal_way():
    done = _run("bad input")
    assert done.returncode == 1
    assert done.stdout == "x" * 200000 + "\n"
    assert "bad input" in done.stderr and "atexit ran" in done.stderr


def test_a_running_thread_is_waited_for():
    done = _run(2, thread=True)
    assert done.returncode == 2
    assert done.stderr.splitlines() == ["thread done", "atexit ran"]
    assert done.stdout == "x" * 200000 + "\n"
