"""Decode speed of TSM 1x1x8 training clips per backend, against naive decoding and the floor.

Synthesizes 10-s 30-fps 340x256 H.264 videos with a long GOP (250, B-frames: like real
downloads), draws 8 random-segment frames per clip as SampleFrames(clip_len=1, num_clips=8)
does in training, and times, per clip, opening the video and decoding those frames:

- vidact readers (`open_video(path, backend).get_frames(indices)`), one reader per clip as
  the pipeline's *Init/*Decode steps do;
- naive PyAV: decode from the start up to the last needed frame, no seeking;
- the decode floor: packets already demuxed in memory, container open, perfect seeking;
  decode from each needed frame's keyframe (all frames, or reference frames only) and
  convert just the needed frames. No reader can beat the reference-only floor;
- optionally MMAction2's steps in another interpreter (`--mmaction-python`): PyAVInit +
  PyAVDecode(mode='accurate'), DecordInit + DecordDecode(mode='accurate'), OpenCVInit +
  OpenCVDecode, on the same frames. vidact never imports MMAction2.

Prints figures; asserts nothing. Example:

    python benchmarks/bench_decode.py --videos 16 --clips 2 \\
        --mmaction-python /tmp/mmvenv/bin/python
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from vidact.data.decoding import open_video

NUM_SEGMENTS = 8


# -- synthetic videos -------------------------------------------------------------------


def write_video(path: Path, *, seconds: float, fps: int, width: int, height: int, gop: int,
                seed: int) -> None:
    """A panning blurred-noise texture with two moving squares, encoded with libx264."""
    import av
    import cv2

    rng = np.random.default_rng(seed)
    texture = rng.integers(0, 256, (height + 400, width + 400, 3), dtype=np.uint8)
    texture = cv2.normalize(cv2.GaussianBlur(texture, (0, 0), 3), None, 0, 255,
                            cv2.NORM_MINMAX)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.gop_size = gop
        stream.options = {"x264-params": "scenecut=0"}  # keyframes exactly every `gop`
        for i in range(int(seconds * fps)):
            y = int(100 + 80 * np.sin(i / 40 + seed))
            x = int(i * 1.3 + 37 * seed) % 400
            img = np.ascontiguousarray(texture[y:y + height, x:x + width])
            cx = int((i * 4 + 50 * seed) % (width - 40))
            cy = int(height / 2 + 60 * np.sin(i / 15)) - 20
            img[cy:cy + 40, cx:cx + 40] = (255, 40, 40)
            img[height - cy - 40:height - cy, width - cx - 40:width - cx] = (40, 40, 255)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def make_videos(workdir: Path, args: argparse.Namespace) -> list[Path]:
    paths = []
    for i in range(args.videos):
        path = workdir / (f"v{i:03d}_{args.seconds:g}s_{args.fps}fps_{args.width}x{args.height}"
                          f"_gop{args.gop}.mp4")
        if not path.exists():
            write_video(path, seconds=args.seconds, fps=args.fps, width=args.width,
                        height=args.height, gop=args.gop, seed=i)
        paths.append(path)
    return paths


def tsm_train_indices(num_frames: int, rng: np.random.Generator) -> np.ndarray:
    """SampleFrames(clip_len=1, frame_interval=1, num_clips=8) in training mode."""
    avg_interval = num_frames // NUM_SEGMENTS
    return np.arange(NUM_SEGMENTS) * avg_interval + rng.integers(avg_interval, size=NUM_SEGMENTS)


# -- the approaches -----------------------------------------------------------------------


def run_reader(backend: str, clips: list[tuple[str, np.ndarray]]) -> list[np.ndarray]:
    out = []
    for path, indices in clips:
        with open_video(path, backend) as reader:
            out.append(reader.get_frames(indices))
    return out


def run_naive_pyav(clips: list[tuple[str, np.ndarray]]) -> list[np.ndarray]:
    """Decode from frame 0 to the last needed frame; convert only the needed ones."""
    import av

    out = []
    for path, indices in clips:
        wanted, last, frames = set(indices.tolist()), int(indices.max()), {}
        with av.open(path) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i in wanted:
                    frames[i] = frame.to_ndarray(format="rgb24")
                if i >= last:
                    break
        out.append(np.stack([frames[i] for i in indices.tolist()]))
    return out


class FloorDecoder:
    """Decoding with every cost but the decoder's removed: packets in memory, exact seeks."""

    def __init__(self, path: str) -> None:
        import av

        self.container = av.open(path)
        self.stream = self.container.streams.video[0]
        self.stream.codec_context.thread_count = 1
        self.packets = [p for p in self.container.demux(self.stream) if p.size]
        pts = np.sort([p.pts for p in self.packets])
        self.frame_of_pts = {int(p): i for i, p in enumerate(pts)}
        # Decode-order position of each keyframe, by frame index.
        self.key_pos = {self.frame_of_pts[p.pts]: pos
                        for pos, p in enumerate(self.packets) if p.is_keyframe}
        self.keys = np.array(sorted(self.key_pos))

    def get_frames(self, indices: np.ndarray, reference_only: bool) -> np.ndarray:
        codec = self.stream.codec_context
        wanted = np.unique(indices)
        wanted_pts = {p for p, i in self.frame_of_pts.items() if i in set(wanted.tolist())}
        frames: dict[int, np.ndarray] = {}
        pos, last_out = None, -1
        for target in wanted.tolist():
            key = int(self.keys[np.searchsorted(self.keys, target, side="right") - 1])
            if pos is None or key > last_out + 1:
                codec.flush_buffers()
                pos, last_out = self.key_pos[key], key - 1
            while target not in frames:
                packet = self.packets[pos] if pos < len(self.packets) else None
                if packet is not None and reference_only:
                    codec.skip_frame = "DEFAULT" if packet.pts in wanted_pts else "NONREF"
                pos += 1
                for frame in codec.decode(packet):
                    last_out = self.frame_of_pts[frame.pts]
                    if frame.pts in wanted_pts:
                        frames[last_out] = frame.to_ndarray(format="rgb24")
        codec.skip_frame = "DEFAULT"
        return np.stack([frames[i] for i in indices.tolist()])


def time_floor(clips, reference_only: bool) -> tuple[float, list[np.ndarray]]:
    decoders = {path: FloorDecoder(path) for path in {p for p, _ in clips}}
    start = time.perf_counter()
    out = [decoders[path].get_frames(indices, reference_only) for path, indices in clips]
    elapsed = time.perf_counter() - start
    for decoder in decoders.values():
        decoder.container.close()
    return elapsed, out


def _pool_reader(args: tuple[str, str, list[int]]) -> int:
    backend, path, indices = args
    with open_video(path, backend) as reader:
        return reader.get_frames(np.array(indices)).shape[0]


def time_workers(backend: str, clips, workers: int) -> float:
    jobs = [(backend, path, indices.tolist()) for path, indices in clips]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_pool_reader, jobs[:workers])  # warm the workers
        start = time.perf_counter()
        pool.map(_pool_reader, jobs, chunksize=1)
        return time.perf_counter() - start


# -- MMAction2 in its own interpreter -----------------------------------------------------

PEER_SCRIPT = r"""
import json, sys, time, types
import numpy as np
# The mmaction2 1.2.0 wheel lacks this package, which mmaction.models imports.
for name in ('mmaction.models.localizers.drn', 'mmaction.models.localizers.drn.drn'):
    module = types.ModuleType(name)
    module.DRN = type('DRN', (), {})
    sys.modules[name] = module
from mmaction.datasets.transforms import (DecordDecode, DecordInit, OpenCVDecode,
                                          OpenCVInit, PyAVDecode, PyAVInit)
job = json.load(open(sys.argv[1]))
pairs = {
    'PyAVInit + PyAVDecode(accurate)': (PyAVInit(), PyAVDecode(mode='accurate')),
    'DecordInit + DecordDecode(accurate)': (DecordInit(), DecordDecode(mode='accurate')),
    'OpenCVInit + OpenCVDecode': (OpenCVInit(), OpenCVDecode()),
}
report = {}
for name, (init, decode) in pairs.items():
    def run():
        out = []
        for path, inds in job['clips']:
            results = decode(init({'filename': path, 'frame_inds': np.array(inds)}))
            out.append(np.stack(results['imgs'])[:, ::16, ::16])
        return out
    best = float('inf')
    for _ in range(job['repeat']):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    np.save(job['outdir'] + '/' + name.split()[0] + '.npy', np.stack(out))
    report[name] = best
print(json.dumps(report))
"""


def run_peer(python: str, clips, repeat: int, workdir: Path) -> dict[str, tuple[float, str]]:
    job = {"clips": [(p, i.tolist()) for p, i in clips], "repeat": repeat,
           "outdir": str(workdir)}
    job_file = workdir / "peer_job.json"
    job_file.write_text(json.dumps(job))
    script = workdir / "peer.py"
    script.write_text(PEER_SCRIPT)
    proc = subprocess.run([python, str(script), str(job_file)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"MMAction2 peer failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return {}
    timings = json.loads(proc.stdout.strip().splitlines()[-1])
    return {name: (seconds, str(workdir / (name.split()[0] + ".npy")))
            for name, seconds in timings.items()}


# -- report -------------------------------------------------------------------------------


def max_abs_diff(frames: list[np.ndarray], reference: list[np.ndarray]) -> int:
    return max(int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())
               for a, b in zip(frames, reference))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=16)
    parser.add_argument("--clips", type=int, default=2, help="TSM clips drawn per video")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=340)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--gop", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=3, help="report the best of N runs")
    parser.add_argument("--workers", type=int, default=2,
                        help="also time a pool of this many processes (0: skip)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep videos here between runs (default: a temp dir)")
    parser.add_argument("--mmaction-python", default=None,
                        help="interpreter with MMAction2 installed, run as a subprocess")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        paths = make_videos(workdir, args)
        rng = np.random.default_rng(args.seed)
        clips = []
        for _ in range(args.clips):
            for path in paths:
                num_frames = open_video(path).num_frames
                clips.append((str(path), tsm_train_indices(num_frames, rng)))
        report(args, paths, clips, workdir)


def timed(fn):
    """Wrap `fn() -> frames` as `() -> (seconds, frames)`."""
    def run():
        start = time.perf_counter()
        out = fn()
        return time.perf_counter() - start, out
    return run


def measure(args, clips) -> tuple[dict[str, float], dict[str, list[np.ndarray]]]:
    """Best time and first output of each approach; repeats interleave the approaches so
    that load from other processes spreads over all of them."""
    approaches = {
        "floor: decode from keyframe (ref frames only)": lambda: time_floor(clips, True),
        "floor: decode from keyframe (all frames)": lambda: time_floor(clips, False),
    }
    backends = ["pyav", "opencv"]
    if importlib.util.find_spec("decord") is not None:
        backends.append("decord")
    for backend in backends:
        approaches[f"vidact {backend}"] = timed(lambda b=backend: run_reader(b, clips))
    approaches["naive PyAV, decode from start"] = timed(lambda: run_naive_pyav(clips))
    best: dict[str, float] = {}
    outputs: dict[str, list[np.ndarray]] = {}
    for _ in range(args.repeat):
        for name, run in approaches.items():
            seconds, out = run()
            best[name] = min(best.get(name, float("inf")), seconds)
            outputs.setdefault(name, out)
    return best, outputs


def report(args, paths, clips, workdir: Path) -> None:
    size_mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
    print(f"{len(paths)} videos: {args.seconds:g} s, {args.fps} fps, {args.width}x{args.height}, "
          f"H.264 gop {args.gop} (x264 defaults, B-frames), {size_mb:.2f} MB each; "
          f"{len(clips)} TSM 1x1x8 clips; best of {args.repeat}; "
          f"{os.cpu_count()} cores (load average {os.getloadavg()[0]:.1f}); single process")
    best, outputs = measure(args, clips)
    floor_name = "floor: decode from keyframe (ref frames only)"
    expected = outputs[floor_name]
    rows = [(name, seconds, max_abs_diff(outputs[name], expected))
            for name, seconds in best.items()]
    if args.mmaction_python:
        small = [frames[:, ::16, ::16] for frames in expected]
        for name, (seconds, npy) in run_peer(args.mmaction_python, clips, args.repeat,
                                             workdir).items():
            rows.append((f"mmaction2 {name}", seconds, max_abs_diff(list(np.load(npy)), small)))
    floor_ref = best[floor_name]
    floor_all = best["floor: decode from keyframe (all frames)"]
    # x floor(ref): against the least decoding possible (PyAV can skip non-reference
    # frames); x floor(all): against decoding every frame from the keyframe, the least an
    # API without frame skipping (OpenCV, decord) can do.
    print(f"{'approach':<48}{'clips/s':>8}{'ms/clip':>9}{'x floor(ref)':>13}"
          f"{'x floor(all)':>13}  max|diff|")
    for name, seconds, diff in rows:
        print(f"{name:<48}{len(clips) / seconds:>8.1f}{1000 * seconds / len(clips):>9.2f}"
              f"{seconds / floor_ref:>13.2f}{seconds / floor_all:>13.2f}  {diff}")
    if args.workers > 1:
        print(f"\npool of {args.workers} processes (fork), same clips:")
        for name in best:
            if name.startswith("vidact "):
                seconds = time_workers(name.split()[1], clips, args.workers)
                print(f"{name:<48}{len(clips) / seconds:>8.1f}"
                      f"{1000 * seconds / len(clips):>9.2f}")


if __name__ == "__main__":
    main()
