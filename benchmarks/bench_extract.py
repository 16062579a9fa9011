"""Frame extraction speed: `vidact extract-frames` against ffmpeg, MMAction2's tool and a plain loop.

Synthesizes 10-s 30-fps 340x256 H.264 videos with a long GOP (250, B-frames: like real downloads)
with PyAV (`bench_decode.write_video`), then extracts every frame of every video to JPEG with:

- vidact, as users run it: `vidact extract-frames VIDEOS... -o out -q Q --workers N` (the console
  script: interpreter start, CLI imports, fork server and workers, manifests and checksums
  included), and the library call `extract_frames(videos, out, ExtractOptions(quality=Q),
  workers=N)` in a fresh Python process;
- a plain loop written here (the floor for vidact's per-frame work): a fork pool of N, each video
  decoded by PyAV in one thread, OpenCV's I420 -> BGR, `cv2.imencode` at quality Q, one write per
  file. It writes the same bytes as vidact (the table says whether it did);
- the ffmpeg command line, `ffmpeg -i v.mp4 -q:v 2 out/img_%05d.jpg`, when an `ffmpeg` binary is
  on PATH: N videos at a time with `-threads 1`, N at a time with ffmpeg's own threading, and
  one video at a time (its own threading); the fastest of the three is the baseline;
- MMAction2's OpenCV way in a minimal script: a fork pool of N, `cv2.VideoCapture` and
  `cv2.imwrite` per frame (JPEG quality 95), no MMAction2 needed;
- with `--mmaction-python PY` (an environment with MMAction2 installed, not a vidact dependency:
  `benchmarks/peers.sh`), MMAction2's own `tools/data/build_rawframes.py SRC OUT --task rgb
  --level 1 --use-opencv --num-worker N` as shipped in its package (mmcv.VideoReader + mmcv.imwrite).

Everything runs on the same cores (`--cores` pins this process and its children), as fresh
processes, in `--repeat` rounds; within a round every approach runs once per condition, the
conditions and approaches interleaved and the order rotating from round to round. The conditions
(`--conditions`): `idle`, and `busy`, beside a competing CPU job started for the purpose (the
ffmpeg CLI transcoding one of the videos with libx264 in one thread, in a loop, to the null muxer;
PyAV does the same without an ffmpeg binary; its CPU time is not counted). For each condition it
prints frames/s (median and best round), CPU ms per frame (user + system of every process a run
starts, median round: it moves less than wall time on a shared machine), PSNR and KiB per frame,
then the ratios of vidact's CLI and library to each other approach with the goals of issue 14,
and the load average seen during the runs. This process is a child subreaper, so vidact's fork
server and workers, orphaned when the CLI exits, are reaped here and counted.

Quality. libjpeg quality Q (vidact `-q`, cv2 `IMWRITE_JPEG_QUALITY`, default 95 in both) and
ffmpeg's `-q:v` (mjpeg qscale, 2 = near best) are different scales; the benchmark compares them by
outcome: mean PSNR of the first video's JPEGs against PyAV's (swscale) bgr24 frames, and KiB per
frame, per approach; at the end it finds the lowest vidact quality whose PSNR reaches ffmpeg's
(on the default videos -q:v 2 is matched at -q 94, so the default -q 95 gives vidact the higher
quality and the slower encoding). ffmpeg's files are smaller because it encodes the decoded YUV
directly with optimal Huffman tables. `--quality` and `--ffmpeg-qv` change the two sides. Prints
figures; asserts nothing. Examples:

    .venv/bin/python benchmarks/bench_extract.py --quick --mmaction-python /work/mmvenv/bin/python
    .venv/bin/python benchmarks/bench_extract.py --workdir /tmp/bench_videos --out-dir /dev/shm/frames \
        --repeat 3 --mmaction-python /work/mmvenv/bin/python
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import functools
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


# The floor for vidact's per-frame work, written plainly: the same libraries and the same bytes
# (PyAV decoding in one thread, its I420 array converted by OpenCV, libjpeg at quality Q), none of
# vidact's frame-index, manifest, resume or crash handling; a fork pool of N, one video per task.
PLAIN_SCRIPT = """
import multiprocessing, os, sys
import av, cv2
cv2.setNumThreads(1)  # one thread per process, as the pool has a process per core

def extract(args):
    video, out, quality = args
    folder = os.path.join(out, os.path.splitext(os.path.basename(video))[0])
    os.mkdir(folder)
    with av.open(video) as container:
        stream = container.streams.video[0]
        stream.thread_type, stream.thread_count = 'SLICE', 1
        for count, frame in enumerate(container.decode(stream), 1):
            if frame.format.name == 'yuv420p':
                bgr = cv2.cvtColor(frame.to_ndarray(format='yuv420p'), cv2.COLOR_YUV2BGR_I420)
            else:
                bgr = frame.to_ndarray(format='bgr24')
            ok, jpeg = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
            with open(os.path.join(folder, f'img_{count:05d}.jpg'), 'wb') as fh:
                fh.write(jpeg)

if __name__ == "__main__":
    out, workers, quality, *videos = sys.argv[1:]
    with multiprocessing.get_context("fork").Pool(int(workers)) as pool:
        pool.map(extract, [(video, out, int(quality)) for video in videos], chunksize=1)
"""


def run_plain(videos: list[Path], out: Path, workers: int, quality: int) -> None:
    subprocess.run([sys.executable, "-c", PLAIN_SCRIPT, str(out), str(workers), str(quality), *map(str, videos)],
                   check=True)


def run_vidact_cli(videos: list[Path], out: Path, workers: int, quality: int, tree: str | None = None) -> None:
    vidact = Path(sys.executable).with_name("vidact")
    args = [a.format(out=out, quality=quality, workers=workers) for a in CLI_ARGS]
    env = {**os.environ, "PYTHONPATH": tree} if tree else None
    done = subprocess.run([str(vidact), "extract-frames", *map(str, videos), *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
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


def run_ffmpeg_parallel_threads(videos: list[Path], out: Path, workers: int, quality: int) -> None:
    with cf.ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda v: _ffmpeg_one(v, out, None), videos))


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
    parser.add_argument("--quality", type=int, default=95, help="vidact's (and the plain loop's) JPEG quality")
    parser.add_argument("--ffmpeg-qv", type=int, default=2, help="ffmpeg's -q:v")
    parser.add_argument("--mmaction-python", "--mmaction2-python", dest="mmaction_python", default=None,
                        help="python of an environment with MMAction2: also run its build_rawframes.py")
    parser.add_argument("--workers", type=int, default=0, help="processes for each approach (0: all cores)")
    parser.add_argument("--cores", default=None, help="pin to these CPUs, e.g. 0-3 or 0,1")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved rounds (best and median reported)")
    parser.add_argument("--conditions", default="idle,busy",
                        help="comma-separated: idle, busy (beside a competing CPU job)")
    parser.add_argument("--quick", action="store_true",
                        help="8 videos, 2 rounds (about a minute or two on 2 quiet cores)")
    parser.add_argument("--baseline", default=None, metavar="DIR",
                        help="also run the CLI of the vidact source tree DIR (e.g. from `git archive`): before/after")
    parser.add_argument("--workdir", type=Path, default=None, help="keep the videos here between runs")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="write frames here (default: WORKDIR/out); /dev/shm/... leaves the disk out")
    args = parser.parse_args()
    if args.quick:
        args.videos, args.repeat = min(args.videos, 8), min(args.repeat, 2)
    global FFMPEG_QV
    FFMPEG_QV = args.ffmpeg_qv
    _become_subreaper()
    # The peers come from pip, which byte-compiles them; an editable vidact is compiled here (where
    # PYTHONDONTWRITEBYTECODE is set Python would otherwise compile it again in every timed run).
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(Path(__file__).resolve().parents[1] / "vidact")],
                   check=True)

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
          f"frames to {args.out_dir or workdir / 'out'}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"load average {_load()}")

    approaches: dict[str, Callable] = {CLI: run_vidact_cli, LIB: run_vidact, PLAIN: run_plain}
    if args.baseline:
        approaches[BASELINE] = functools.partial(run_vidact_cli, tree=str(Path(args.baseline).resolve()))
    if shutil.which("ffmpeg"):
        approaches[FFMPEG_N] = run_ffmpeg_parallel
        approaches[FFMPEG_NT] = run_ffmpeg_parallel_threads
        approaches[FFMPEG_1] = run_ffmpeg_serial
    else:
        print("no ffmpeg binary on PATH: skipping the ffmpeg command line")
    approaches[CV2] = run_cv2
    if args.mmaction_python:
        approaches[MMACTION] = mmaction2_runner(args.mmaction_python)
    else:
        print("no --mmaction-python: skipping MMAction2's build_rawframes.py")

    conditions = args.conditions.split(",")
    runs = {c: Runs(approaches) for c in conditions}
    for rep in range(args.repeat):
        # rounds outermost, conditions and approaches interleaved inside, the order rotating per
        # round: a busy spell of the machine hits every approach in both conditions alike
        names = list(approaches)
        names = names[rep % len(names):] + names[:rep % len(names)]
        for condition in conditions:
            competitor = _start_competitor(videos[0]) if condition == "busy" else None
            try:
                for name in names:
                    measure_once(name, approaches[name], runs[condition], videos, workdir, workers, args,
                                 keep=(competitor.pid,) if competitor else (), check=rep == 0)
            finally:
                if competitor:
                    competitor.kill()
                    competitor.wait()
        print(f"round {rep + 1}/{args.repeat} done, load average {_load()}", flush=True)
    shutil.rmtree(args.out_dir or workdir / "out", ignore_errors=True)
    for condition in conditions:
        beside = (f": beside a competing transcode ({'ffmpeg CLI' if shutil.which('ffmpeg') else 'PyAV'} "
                  "libx264, one thread, in a loop; its CPU time not counted)" if condition == "busy" else "")
        print(f"\n== {condition}{beside}")
        report(runs[condition], args)
    print_quality(videos[0], runs[conditions[0]], args)
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


CLI, LIB = "vidact extract-frames (CLI)", "vidact extract_frames() (library)"
PLAIN = "plain loop: PyAV -> cv2 BGR -> imencode"
FFMPEG_N, FFMPEG_1 = "ffmpeg CLI, N videos at a time", "ffmpeg CLI, 1 video at a time"
FFMPEG_NT = "ffmpeg CLI, N at a time, own threads"
FFMPEG = (FFMPEG_N, FFMPEG_NT, FFMPEG_1)
CV2 = "cv2 VideoCapture + imwrite (script)"
BASELINE = "vidact CLI of --baseline (before)"
MMACTION = "MMAction2 build_rawframes.py"


class Runs:
    """Wall and CPU seconds of every run of each approach under one condition, plus the checks."""

    def __init__(self, approaches: dict[str, Callable]) -> None:
        self.walls: dict[str, list[float]] = {name: [] for name in approaches}
        self.cpu: dict[str, list[float]] = {name: [] for name in approaches}
        self.loads: list[float] = []
        self.frames: dict[str, int] = {}
        self.quality: dict[str, tuple[float, float]] = {}
        self.digest: dict[str, str] = {}

    def fps(self, name: str, stat: Callable = np.median) -> float:
        return self.frames[name] / float(stat(self.walls[name]))

    def paired(self, ours: str, peers: list[str]) -> float:
        """Median over rounds of ours / the fastest of `peers`, frames/s within each round."""
        peer_fps = np.max([self.frames[n] / np.asarray(self.walls[n]) for n in peers], axis=0)
        return float(np.median(self.frames[ours] / np.asarray(self.walls[ours]) / peer_fps))

    def cpu_ms(self, name: str) -> float:
        return 1000 * float(np.median(self.cpu[name])) / self.frames[name]


def measure_once(name: str, run: Callable, runs: Runs, videos: list[Path], workdir: Path, workers: int,
                 args: argparse.Namespace, keep: tuple[int, ...], check: bool) -> None:
    out = args.out_dir or workdir / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    runs.loads.append(os.getloadavg()[0])
    cpu_start, start = _cpu_seconds(), time.perf_counter()
    run(videos, out, workers, args.quality)
    seconds = time.perf_counter() - start
    _reap_orphans(keep)
    runs.cpu[name].append(_cpu_seconds() - cpu_start)
    runs.walls[name].append(seconds)
    runs.frames[name] = frames_written(out)
    if check:
        folder = out / videos[0].stem
        runs.quality[name] = jpeg_quality(videos[0], folder)
        runs.digest[name] = _digest(folder)


def report(runs: Runs, args: argparse.Namespace) -> None:
    """The table of every approach, then each vidact entry's ratios to every other approach."""
    print(f"load average during the runs: {min(runs.loads):.1f}-{max(runs.loads):.1f} "
          f"(median {np.median(runs.loads):.1f}); {args.repeat} interleaved rounds")
    print(f"\n{'approach':40s} {'frames':>6s} {'median s':>8s} {'frames/s':>8s} {'best f/s':>8s} "
          f"{'CPU ms/frame':>12s} {'PSNR dB':>7s} {'KiB/frame':>9s}")
    for name in runs.walls:
        print(f"{name:40s} {runs.frames[name]:6d} {np.median(runs.walls[name]):8.2f} {runs.fps(name):8.0f} "
              f"{runs.fps(name, min):8.0f} {runs.cpu_ms(name):12.2f} {runs.quality[name][0]:7.2f} "
              f"{runs.quality[name][1]:9.1f}")
    ffmpeg = [n for n in FFMPEG if n in runs.walls]
    peers = [("ffmpeg CLI (the faster way)", ffmpeg, ">= 1.5x")] if ffmpeg else []
    peers += [(n, [n], goal) for n, goal in ((MMACTION, ">= 1x"), (PLAIN, ">= 0.9x"), (CV2, ""), (BASELINE, ""))
              if n in runs.walls]
    print(f"\n{'vidact / peer, frames/s: median (best) [paired]':47s} {'CLI':>22s} {'library':>22s}  goal")
    for label, names, goal in peers:
        cells = [f"{runs.fps(ours) / max(runs.fps(n) for n in names):.2f}x "
                 f"({runs.fps(ours, min) / max(runs.fps(n, min) for n in names):.2f}x) "
                 f"[{runs.paired(ours, names):.2f}x]" for ours in (CLI, LIB)]
        print(f"{label:47s} {cells[0]:>22s} {cells[1]:>22s}  {goal}")
    if ffmpeg:
        lowest = min(runs.cpu_ms(n) for n in ffmpeg)
        cells = [f"{runs.cpu_ms(ours) / lowest:.2f}" for ours in (CLI, LIB)]
        print(f"{'CPU ms/frame / ffmpeg CLI (the lower)':47s} {cells[0]:>22s} {cells[1]:>22s}  <= 1")
    print("[paired]: the median over rounds of each round's ratio (a round runs the approaches back to back, so a "
          "drift of the machine's speed between rounds cancels out)")
    same = [n for n in runs.digest if n != LIB and runs.digest[n] == runs.digest.get(CLI)]
    print(f"files of the first video identical to vidact's: {', '.join(same) or 'none'}")


def print_quality(video: Path, runs: Runs, args: argparse.Namespace) -> None:
    """The libjpeg quality whose PSNR matches ffmpeg's -q:v on the first video (vidact's conversion)."""
    ffmpeg = [n for n in FFMPEG if n in runs.quality]
    print(f"\nquality: vidact -q {args.quality}, the plain loop {args.quality}, cv2 and MMAction2 95 (libjpeg scale); "
          f"ffmpeg -q:v {args.ffmpeg_qv} (mjpeg qscale). PSNR against PyAV's (swscale) bgr24 frames, first video.")
    if not ffmpeg:
        return
    import av

    from vidact.data.extract.images import BgrConverter

    target = runs.quality[ffmpeg[0]][0]
    with av.open(str(video)) as container:
        frames = list(container.decode(video=0))
    to_bgr = BgrConverter()
    refs = [f.to_ndarray(format="bgr24") for f in frames]
    bgrs = [to_bgr(f) for f in frames]
    sweep = {}
    for q in range(70, 101):
        decoded = [cv2.imdecode(cv2.imencode(".jpg", b, [cv2.IMWRITE_JPEG_QUALITY, q])[1], cv2.IMREAD_COLOR)
                   for b in bgrs]
        sweep[q] = float(np.mean([cv2.PSNR(r, d) for r, d in zip(refs, decoded)]))
    equal = min((q for q, psnr in sweep.items() if psnr >= target), default=None)
    print(f"ffmpeg -q:v {args.ffmpeg_qv}: {target:.2f} dB; vidact's frames reach it at -q {equal} "
          f"({sweep.get(equal, float('nan')):.2f} dB); -q {args.quality}: {sweep[args.quality]:.2f} dB. "
          + ("So the runs above give vidact at least ffmpeg's quality: the comparison does not favour vidact."
             if equal is not None and args.quality >= equal else
             "So the runs above give vidact a LOWER quality than ffmpeg's: raise --quality."))


def _digest(folder: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    for path in sorted(folder.glob("img_*.jpg")):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


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
import io, itertools, sys, av
src = sys.argv[1]
for _ in itertools.count():
    with av.open(src) as inp, av.open(io.BytesIO(), 'w', format='mp4') as out:
        stream = out.add_stream('libx264', rate=30)
        stream.width, stream.height, stream.pix_fmt = inp.streams.video[0].width, inp.streams.video[0].height, 'yuv420p'
        stream.options = {'threads': '1'}
        for frame in inp.decode(video=0):
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
"""


def _start_competitor(video: Path) -> subprocess.Popen:
    """A CPU job that keeps one core busy until killed: a one-thread libx264 transcode of `video` in a
    loop, by the ffmpeg CLI to the null muxer (PyAV without ffmpeg)."""
    if shutil.which("ffmpeg"):
        cmd = ["ffmpeg", "-nostdin", "-v", "quiet", "-threads", "1", "-stream_loop", "-1", "-i", str(video),
               "-c:v", "libx264", "-threads", "1", "-f", "null", "-"]
    else:
        cmd = [sys.executable, "-c", COMPETITOR, str(video)]
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)  # let it reach its steady state
    return proc


def _span(part: str) -> range:
    low, _, high = part.partition("-")
    return range(int(low), int(high or low) + 1)


if __name__ == "__main__":
    main()
