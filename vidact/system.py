"""Facts about this machine that decide whether vidact can run here (`vidact doctor`).

Each check returns a `Check`: a name, a status (ok / warn / fail), what was found, and for
failures the command that fixes it. Heavy imports (torch, av, cv2) happen inside the checks.
"""

from __future__ import annotations

import importlib
import io
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Literal

Status = Literal["ok", "warn", "fail"]

MIN_PYTHON = (3, 10)
MIN_FREE_GB = 5.0


@dataclass(frozen=True)
class Check:
    """Outcome of one environment check."""

    name: str
    status: Status
    found: str
    fix: str | None = None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def check_python() -> Check:
    ver = sys.version_info
    found = f"{platform.python_implementation()} {platform.python_version()} ({sys.executable})"
    if ver[:2] < MIN_PYTHON:
        need = ".".join(map(str, MIN_PYTHON))
        return Check("python", "fail", found, fix=f"install Python >= {need} and recreate the venv")
    return Check("python", "ok", found)


def check_torch() -> Check:
    try:
        torch = importlib.import_module("torch")
    except Exception as exc:  # ImportError or a broken wheel
        return Check("torch", "fail", f"not importable ({exc})", fix="pip install torch==2.13.0 (or make setup)")
    details: dict = {
        "version": torch.__version__,
        "cuda_available": bool(torch.cuda.is_available()),
        "cuda_version": torch.version.cuda,
        "cudnn_version": None,
        "nccl_version": None,
        "devices": [],
        "threads": torch.get_num_threads(),
    }
    if details["cuda_available"]:
        details["cudnn_version"] = torch.backends.cudnn.version()
        try:
            nccl = torch.cuda.nccl.version()
            details["nccl_version"] = ".".join(map(str, nccl)) if isinstance(nccl, tuple) else str(nccl)
        except Exception:  # NCCL missing from this build
            details["nccl_version"] = None
        details["devices"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        found = (
            f"{torch.__version__}, CUDA {torch.version.cuda}, cuDNN {details['cudnn_version']}, "
            f"NCCL {details['nccl_version']}, {len(details['devices'])} GPU(s): {', '.join(details['devices'])}"
        )
        return Check("torch", "ok", found, details=details)
    found = f"{torch.__version__}, CPU only ({details['threads']} threads)"
    return Check("torch", "ok", found, details=details)


def _h264_roundtrip(av) -> tuple[bool, bool, str]:
    """Encode 8 tiny frames with libx264 into memory and decode them back."""
    import numpy as np

    buf = io.BytesIO()
    encode_ok = decode_ok = False
    note = ""
    try:
        with av.open(buf, mode="w", format="mp4") as container:
            stream = container.add_stream("libx264", rate=Fraction(8, 1))
            stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
            for i in range(8):
                img = np.full((32, 32, 3), i * 30, dtype=np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        encode_ok = True
    except Exception as exc:
        note = f"H.264 encode failed: {exc}"
        return encode_ok, decode_ok, note
    try:
        buf.seek(0)
        with av.open(buf, mode="r") as container:
            count = sum(1 for _ in container.decode(video=0))
        decode_ok = count == 8
        if not decode_ok:
            note = f"decoded {count} of 8 frames"
    except Exception as exc:
        note = f"H.264 decode failed: {exc}"
    return encode_ok, decode_ok, note


def check_pyav() -> Check:
    try:
        av = importlib.import_module("av")
    except Exception as exc:
        return Check("pyav", "fail", f"not importable ({exc})", fix="pip install av")
    libs = getattr(av, "library_versions", {})
    ffmpeg = ".".join(map(str, libs.get("libavcodec", ()))) or "?"
    enc, dec, note = _h264_roundtrip(av)
    details = {"version": av.__version__, "libavcodec": ffmpeg, "h264_encode": enc, "h264_decode": dec}
    found = f"{av.__version__} (libavcodec {ffmpeg}); H.264 decode {'yes' if dec else 'NO'}, encode {'yes' if enc else 'no'}"
    if not dec:
        return Check("pyav", "fail", f"{found}; {note}", fix="pip install --force-reinstall av", details=details)
    if not enc:
        return Check("pyav", "warn", f"{found}; {note} (only `dataset synth` needs it)", details=details)
    return Check("pyav", "ok", found, details=details)


def check_opencv() -> Check:
    try:
        cv2 = importlib.import_module("cv2")
    except Exception as exc:
        return Check("opencv", "fail", f"not importable ({exc})", fix="pip install opencv-python-headless")
    return Check("opencv", "ok", f"{cv2.__version__}", details={"version": cv2.__version__})


def check_decord() -> Check:
    try:
        decord = importlib.import_module("decord")
    except Exception:
        return Check("decord", "ok", "not installed (optional backend: pip install vidact[decord])")
    return Check("decord", "ok", decord.__version__, details={"version": decord.__version__})


def check_disk(work_dir: Path) -> Check:
    probe = work_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    usage = shutil.disk_usage(probe)
    free_gb = usage.free / 1e9
    found = f"{free_gb:.1f} GB free of {usage.total / 1e9:.0f} GB at {probe}"
    if free_gb < 0.5:
        return Check("disk", "fail", found, fix=f"free space under {probe} or pass another --work-dir")
    if free_gb < MIN_FREE_GB:
        return Check("disk", "warn", f"{found} (frames and checkpoints need more)")
    return Check("disk", "ok", found, details={"free_bytes": usage.free, "path": str(probe)})


def check_cores() -> Check:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return Check("cores", "ok", f"{cores} usable of {os.cpu_count()}", details={"usable": cores})


def check_writable(work_dir: Path) -> Check:
    try:
        work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=work_dir):
            pass
    except OSError as exc:
        return Check("work_dir", "fail", f"{work_dir} not writable ({exc.strerror})", fix="pass a writable --work-dir")
    return Check("work_dir", "ok", f"{work_dir} is writable")


def run_checks(work_dir: Path) -> list[Check]:
    """Run every check, in the order `vidact doctor` prints them."""
    return [
        check_python(),
        check_torch(),
        check_pyav(),
        check_opencv(),
        check_decord(),
        check_cores(),
        check_disk(work_dir),
        check_writable(work_dir),
    ]
