"""Frame extraction speed: `vidact.data.extract` against the ffmpeg command line and cv2 per frame.

Synthesizes 10-s 30-fps 340x256 H.264 videos with a long GOP (250, B-frames: like real downloads)
with PyAV (`bench_decode.write_video`), then extracts every frame of every video to JPEG with:

- vidact, as users run it: `vidact extract-frames VIDEOS... -o out -q Q --workers N` (the console
  script: interpreter start, CLI imports, fork server and workers, manifests and checksums
  included), and the library call `extract_frames(videos, out, ExtractOptions(quality=Q),
  workers=N)` in a fresh Python process;
- the ffmpeg command line, `ffmpeg -i v.mp4 -q:v 2 out/img_%05d.jpg`, when an `ffmpeg` binary is
  on PATH: N videos at a time (`-threads 1`) and one video at a time (ffmpeg's own threading);
  the faster of the two is the baseline;
- MMAction2's OpenCV approach (`tools/data/build_rawframes.py` without resizing): a Python
  process with a fork pool of N, each video read with `cv2.VideoCapture` and every frame written
  with `cv2.imwrite` (JPEG quality 95). Our own few lines, same method; no MMAction2 needed;
- with `--mmaction2-python PY` (an environment with MMAction2 installed, not a vidact
  dependency), MMAction2's own `tools/data/build_rawframes.py SRC OUT --task rgb --level 1
  --use-opencv --num-worker N` as shipped in its package (mmcv.VideoReader + mmcv.imwrite).

All run on the same cores (`--cores` pins this process and its children), interleaved, best and
median of `--repeat` by wall time, under each of `--conditions`: `idle`, and `busy`, beside a
competing CPU job started for the purpose (a copy of the ffmpeg CLI transcoding one of the videos
in a loop, or the same with PyAV when there is no ffmpeg binary; its CPU time is not counted); CPU ms per frame (user + system of every process a run starts,
median run) is printed too, as it moves less than wall time on a machine shared with other jobs.
This process is a child subreaper, so vidact's fork server and workers, orphaned when the CLI
exits, are reaped here and counted.

Quality mapping. libjpeg quality Q (vidact `-q`, cv2 `IMWRITE_JPEG_QUALITY`, default 95 in both)
and ffmpeg's `-q:v` (mjpeg qscale, 2 = near best) are different scales; the benchmark compares
them by outcome: mean PSNR of the first video's JPEGs against PyAV's decoded bgr24 frames, and
KiB per frame, printed per approach. On the default videos `-q 95` gives a higher PSNR than
`-q:v 2` (35.2 against 34.9 dB), so at the default settings vidact does at least ffmpeg's quality;
ffmpeg's files are smaller because it encodes the decoded YUV directly with optimal Huffman
tables. `--quality` and `--ffmpeg-qv` change the two sides. Prints figures; asserts nothing.
Example:

    .venv/bin/python benchmarks/bench_extract.py --workdir /tmp/bench_videos --repeat 5
    .venv/bin/python benchmarks/bench_extract.py --workdir /tmp/bench_videos --out-dir /dev/shm/frames
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_decode import write_video  # noqa: E402  (the videos bench_decode times, same sizes)


def make_videos(workdir: Path, args: argparse.Namespace) -> list[Path]:
    paths = []
    for i in range(args.videos):
        path = workdir / f"v{i:03d}_{args.seconds:g}s_{args.fps}fps_{args.width}x{args.height}_gop{args.gop}.mp4"
        if not path.exists():
            write_video(path, seconds=args.seconds, fps=args.fps, width=args.width, height=args.height,
                        gop=args.gop, seed=i)
        paths.append(path)
    return paths


# -- the approaches: each extracts every frame of `videos` to out/<stem>/img_%05d.jpg in fresh -----
# -- processes, as a user runs them (interpreter start and imports included) -------------------

CLI_ARGS = ["-o", "{out}", "-q", "{quality}", "--workers", "{workers}"]

VIDACT_SCRIPT = """
import multiprocessing.forkserver, sys
from vidact.data.extract import ExtractOptions, extract_frames
out, workers, quality, *videos = sys.argv[1:]
summary = extract_frames(videos, out, ExtractOptions(quality=int(quality)), workers=int(workers))
assert not summary.failures, summary.failures
# Reap the fork server (private API, benchmark only) so its workers' CPU time reaches our rusage.
multiprocessing.forkserver._forkserver._stop()
"""

# MMAction2's tools/data/build_rawframes.py method (OpenCV branch, no resizing), in our words.
CV2_SCRIPT = """
import multiprocessing, sys
from pathlib import Path
import cv2

def extract(args):
    video, out = args
    folder = Path(out) / Path(video).stem
    folder.mkdir(parents=True)
    cap = cv2.VideoCapture(video)
    count = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        count += 1
        cv2.imwrite(str(folder / f"img_{count:05d}.jpg"), frame)  # JPEG quality 95 by default
    cap.release()

if __name__ == "__main__":
    out, workers, *videos = sys.argv[1:]
    with multiprocessing.get_context("fork").Pool(int(workers)) as pool:  # build_rawframes' Pool
        pool.map(extract, [(video, out) for video in videos])
"""


def run_vidact_cli(videos: list[Path], out: Path, workers: int, quality: int) -> None:
    vidact = Path(sys.executable).with_name("vidact")
    args = [a.format(out=out, quality=quality, workers=workers) for a in CLI_ARGS]
    done = subprocess.run([str(vidact), "extract-frames", *map(str, videos), *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        raise SystemExit(f"vidact extract-frames failed:\n{done.stderr}")


def run_vidact(videos: list[Path], out: Path, workers: int, quality: int) -> None:
    subprocess.run([sys.executable, "-c", VIDACT_SCRIPT, str(out), str(workers), str(quality),
                    *map(str, videos)], check=True)


FFMPEG_QV = 2


def _ffmpeg_one(video: Path, out: Path, threads: int | None) -> None:
    folder = out / video.stem
    folder.mkdir(parents=True)
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error"]
    if threads is not None:
        cmd += ["-threads", str(threads)]
    cmd += ["-i", str(video), "-q:v", str(FFMPEG_QV), str(folder / "img_%05d.jpg")]
    subprocess.run(cmd, check=True)


def run_ffmpeg_parallel(videos: list[Path], out: Path, workers: int, quality: int) -> None:
    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda v: _ffmpeg_one(v, out, 1), videos))


def run_ffmpeg_serial(videos: list[Path], out: Path, workers: int, quality: int) -> None:
    for video in videos:
        _ffmpeg_one(video, out, None)


def run_cv2(videos: list[Path], out: Path, workers: int, quality: int) -> None:
    subprocess.run([sys.executable, "-c", CV2_SCRIPT, str(out), str(workers), *map(str, videos)], check=True)


def mmaction2_runner(python: str) -> Callable:
    """Run MMAction2's build_rawframes.py (OpenCV branch) with the interpreter of its environment."""
    code = "import mmaction, os; print(os.path.join(os.path.dirname(mmaction.__file__), '.mim/tools/data'))"
    tools = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True).stdout.strip()

    def run(videos: list[Path], out: Path, workers: int, quality: int) -> None:
        with tempfile.TemporaryDirectory(prefix="bench_mm_") as tmp:
            src = Path(tmp) / "videos"
            src.mkdir()
            for video in videos:  # the tool globs SRC/*.mp4
                (src / video.name).symlink_to(video.resolve())
            subprocess.run([python, f"{tools}/build_rawframes.py", str(src), str(out), "--task", "rgb",
                            "--level", "1", "--ext", "mp4", "--use-opencv", "--num-worker", str(workers),
                            "--report-file", str(Path(tmp) / "report.txt")],
                           check=True, stdout=subprocess.DEVNULL, cwd=tmp)
    return run


# -- measuring ---------------------------------------------------------------------------------


def frames_written(out: Path) -> int:
    return sum(1 for _ in out.glob("*/img_*.jpg"))


def jpeg_quality(video: Path, folder: Path) -> tuple[float, float]:
    """(mean PSNR in dB against PyAV's decoded frames, mean KiB per frame) of one video's JPEGs."""
    import av

    with av.open(str(video)) as container:
        ref = [f.to_ndarray(format="bgr24") for f in container.decode(video=0)]
    files = sorted(folder.glob("img_*.jpg"))
    psnr = [cv2.PSNR(r, cv2.imread(str(f))) for r, f in zip(ref, files)]
    return float(np.mean(psnr)), float(np.mean([f.stat().st_size for f in files])) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=340)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--gop", type=int, default=250)
    parser.add_argument("--quality", type=int, default=95, help="vidact's JPEG quality (cv2's is 95)")
    parser.add_argument("--ffmpeg-qv", type=int, default=2, help="ffmpeg's -q:v")
    parser.add_argument("--mmaction2-python", default=None,
                        help="python of an environment with MMAction2: also run its build_rawframes.py")
    parser.add_argument("--workers", type=int, default=0, help="processes for each approach (0: all cores)")
    parser.add_argument("--cores", default=None, help="pin to these CPUs, e.g. 0-3 or 0,1")
    parser.add_argument("--repeat", type=int, default=3, help="report the best of N runs")
    parser.add_argument("--conditions", default="idle,busy",
                        help="comma-separated: idle, busy (beside a competing CPU job)")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the videos here between runs")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="write frames here (default: WORKDIR/out); /dev/shm/... leaves the disk out")
    args = parser.parse_args()
    global FFMPEG_QV
    FFMPEG_QV = args.ffmpeg_qv
    _become_subreaper()

    if args.cores:
        cpus = {c for part in args.cores.split(",") for c in _span(part)}
        os.sched_setaffinity(0, cpus)
    cores = len(os.sched_getaffinity(0))
    workers = args.workers or cores
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_extract_"))
    workdir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    videos = make_videos(workdir, args)
    print(f"{len(videos)} videos of {args.seconds:g} s, {args.fps} fps, {args.width}x{args.height}, "
          f"GOP {args.gop} ({time.perf_counter() - t0:.1f} s to write); {cores} cores, {workers} workers; "
          f"frames to {args.out_dir or workdir / 'out'}")

    approaches: dict[str, Callable] = {"vidact extract-frames (CLI)": run_vidact_cli,
                                       "vidact extract_frames() (library)": run_vidact}
    if shutil.which("ffmpeg"):
        approaches["ffmpeg CLI, N videos at a time"] = run_ffmpeg_parallel
        approaches["ffmpeg CLI, 1 video at a time"] = run_ffmpeg_serial
    else:
        print("no ffmpeg binary on PATH: skipping the ffmpeg command line")
    approaches["cv2 VideoCapture + imwrite (MMAction2 way)"] = run_cv2
    if args.mmaction2_python:
        approaches["MMAction2 build_rawframes.py --use-opencv"] = mmaction2_runner(args.mmaction2_python)

    for condition in args.conditions.split(","):
        competitor = _start_competitor(videos[0], workdir) if condition == "busy" else None
        try:
            beside = f": beside a competing transcode ({'ffmpeg CLI' if shutil.which('ffmpeg') else 'PyAV'}, " \
                     f"pid {competitor.pid})" if competitor else ""
            print(f"\n== {condition}{beside}")
            measure(approaches, videos, workdir, workers, args, keep=(competitor.pid,) if competitor else ())
        finally:
            if competitor:
                competitor.kill()
                competitor.wait()
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


def measure(approaches: dict[str, Callable], videos: list[Path], workdir: Path, workers: int,
            args: argparse.Namespace, keep: tuple[int, ...]) -> None:
    """Run every approach `args.repeat` times, interleaved, and print the table and the ratios."""
    walls: dict[str, list[float]] = {name: [] for name in approaches}
    cpu: dict[str, list[float]] = {name: [] for name in approaches}
    quality: dict[str, tuple[float, float]] = {}
    frames: dict[str, int] = {}
    for rep in range(args.repeat):
        for name, run in approaches.items():  # interleaved, so machine load hits all alike
            out = args.out_dir or workdir / "out"
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir(parents=True)
            cpu_start, start = _cpu_seconds(), time.perf_counter()
            run(videos, out, workers, args.quality)
            seconds = time.perf_counter() - start
            _reap_orphans(keep)
            cpu[name].append(_cpu_seconds() - cpu_start)
            walls[name].append(seconds)
            frames[name] = frames_written(out)
            if rep == 0:
                quality[name] = jpeg_quality(videos[0], out / videos[0].stem)
    shutil.rmtree(args.out_dir or workdir / "out", ignore_errors=True)
    
    best = {name: min(w) for name, w in walls.items()}
    median = {name: float(np.median(w)) for name, w in walls.items()}
    print(f"\n{'approach':42s} {'frames':>7s} {'best s':>7s} {'frames/s':>9s} {'median':>7s} {'CPU ms/frame':>12s} "
          f"{'PSNR dB':>8s} {'KiB/frame':>9s}")
    for name in approaches:
        print(f"{name:42s} {frames[name]:7d} {best[name]:7.2f} {frames[name] / best[name]:9.0f} "
              f"{frames[name] / median[name]:7.0f} {1000 * float(np.median(cpu[name])) / frames[name]:12.2f} "
              f"{quality[name][0]:8.2f} {quality[name][1]:9.1f}")
    print(f"\nquality: vidact -q {args.quality} and cv2 95 (libjpeg scale), ffmpeg -q:v {args.ffmpeg_qv}"
          " (mjpeg qscale): compare the PSNR column")
    cv = "cv2 VideoCapture + imwrite (MMAction2 way)"
    for ours in ("vidact extract-frames (CLI)", "vidact extract_frames() (library)"):
        fps = {stat: frames[ours] / times[ours] for stat, times in (("best", best), ("median", median))}
        ffmpeg = [n for n in approaches if n.startswith("ffmpeg")]
        if ffmpeg:
            ratios = [fps[stat] / max(frames[n] / times[n] for n in ffmpeg)
                      for stat, times in (("best", best), ("median", median))]
            print(f"{ours} / best ffmpeg CLI: {ratios[0]:.2f}x best, {ratios[1]:.2f}x median (goal >= 1.5x)")
        for other in (cv, "MMAction2 build_rawframes.py --use-opencv"):
            if other in approaches:
                ratios = [fps[stat] / (frames[other] / times[other])
                          for stat, times in (("best", best), ("median", median))]
                print(f"{ours} / {other}: {ratios[0]:.2f}x best, {ratios[1]:.2f}x median (goal >= 1x)")


def _cpu_seconds() -> float:
    """User + system CPU time of this process and of its finished (waited-for) children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _become_subreaper() -> None:
    """Adopt orphaned descendants (vidact's fork server outlives the CLI by a moment) so that
    their CPU time reaches RUSAGE_CHILDREN once reaped."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap_orphans(keep: tuple[int, ...] = ()) -> None:
    """Wait for every child (orphans adopted included) except those in `keep` (the competing job)."""
    while True:
        children = [pid for pid in _children() if pid not in keep]
        if not children:
            return
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _children() -> list[int]:
    pids = []
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            pids += [int(pid) for pid in (task / "children").read_text().split()]
    return pids


COMPETITOR = """
import itertools, sys, av
src, dst = sys.argv[1], sys.argv[2]
for _ in itertools.count():
    with av.open(src) as inp, av.open(dst, 'w') as out:
        stream = out.add_stream('libx264', rate=30)
        stream.width, stream.height, stream.pix_fmt = inp.streams.video[0].width, inp.streams.video[0].height, 'yuv420p'
        stream.options = {'threads': '1'}
        for frame in inp.decode(video=0):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
"""


def _start_competitor(video: Path, workdir: Path) -> subprocess.Popen:
    """A CPU job that keeps one core busy until killed: ffmpeg transcoding in a loop (PyAV without ffmpeg)."""
    target = workdir / "competitor.mp4"
    if shutil.which("ffmpeg"):
        cmd = ["ffmpeg", "-v", "quiet", "-y", "-stream_loop", "-1", "-i", str(video), "-c:v", "libx264",
               "-threads", "1", "-f", "mp4", str(target)]
    else:
        cmd = [sys.executable, "-c", COMPETITOR, str(video), str(target)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let it reach its steady state
    return proc


def _span(part: str) -> range:
    low, _, high = part.partition("-")
    return range(int(low), int(high or low) + 1)


if __name__ == "__main__":
    main()
