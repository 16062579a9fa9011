"""TSM 1x1x8 training-pipeline throughput and loader memory per backend, against the decode floor.

Synthesizes the videos of `bench_decode.py` (10-s 30-fps 340x256 H.264, GOP 250, B-frames) and
builds, through the registry (`build_dataset` with a `VideoDataset` spec), the TSM 1x1x8 training
pipeline: <Backend>Init, SampleFrames(1, 1, 8), <Backend>Decode, Resize(-1, 256),
MultiScaleCrop(224, scales (1, .875, .75, .66)), Resize(224, 224), Flip(0.5), Normalize,
FormatShape(NCHW), Collect, ToTensor. Per backend (PyAV, OpenCV, decord when importable) it prints:

- clips/s iterating the dataset in this process;
- clips/s through `build_dataloader(workers_per_gpu=2, videos_per_gpu=1)` (first batches,
  worker start-up included, are left out of the timing);
- the decode floor: a bare loop written here, independent of vidact's readers, that decodes
  exactly the frames the single-process pipeline drew (same seeds) to RGB arrays: PyAV seeks to the
  key frame before the first wanted frame and decodes forward (slice threads, as vidact's reader),
  OpenCV sets the position and grabs/retrieves, decord calls `get_batch`; and the ratio
  pipeline / floor (goal <= 1.3);
- with `--steps`, the time of each pipeline step in ms per clip (where the time beyond decode goes).

With `--mmaction-python PY`, MMAction2 1.x's equivalent pipeline (PyAVInit + PyAVDecode(mode=
'accurate'), DecordInit + DecordDecode(mode='accurate'), same transforms through mmcv's
`Compose`; its 1.x transforms have no Normalize, which the data preprocessor does, so a NumPy
normalize with the same mean/std stands in, then PackActionInputs) runs in a subprocess on the
same videos, same seeds, and the ratios to ours are printed (goals: our PyAV >= 2x theirs; our
fastest >= their fastest accurate one).

With `--memory-iters N`, a 2-worker loader (per backend, PyAV by default) runs N iterations and
the RSS of the main process and each worker is printed at start and end, with each worker's
peak (VmHWM); MMAction2's loader likewise when `--mmaction-python` is given.

Prints figures; asserts nothing. Example:

    python benchmarks/bench_pipeline.py --videos 8 --repeat 2 --memory-iters 400 \\
        --mmaction-python /tmp/mmvenv/bin/python
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_decode import make_videos  # noqa: E402  (same synthetic videos)

from vidact.data.build import build_dataloader, build_dataset, build_pipeline  # noqa: E402
from vidact.data.decoding import open_video  # noqa: E402

MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]
BACKENDS = {"pyav": "PyAV", "opencv": "OpenCV", "decord": "Decord"}


def sample_frames_spec() -> dict:
    return dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=8)


def tsm_train_pipeline(prefix: str) -> list[dict]:
    # Init before SampleFrames: the sampler needs the `total_frames` that Init reads.
    return [
        dict(type=f"{prefix}Init"),
        sample_frames_spec(),
        dict(type=f"{prefix}Decode"),
        dict(type="Resize", scale=(-1, 256)),
        dict(type="MultiScaleCrop", input_size=224, scales=(1, 0.875, 0.75, 0.66),
             random_crop=False, max_wh_scale_gap=1),
        dict(type="Resize", scale=(224, 224), keep_ratio=False),
        dict(type="Flip", flip_ratio=0.5),
        dict(type="Normalize", mean=MEAN, std=STD, to_bgr=False),
        dict(type="FormatShape", input_format="NCHW"),
        dict(type="Collect", keys=["imgs", "label"], meta_keys=[]),
        dict(type="ToTensor", keys=["imgs", "label"]),
    ]


def make_dataset(ann_file: Path, prefix: str):
    return build_dataset(dict(type="VideoDataset", ann_file=str(ann_file),
                              pipeline=tsm_train_pipeline(prefix)))


# -- RSS via /proc (psutil when installed) -------------------------------------------------


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """VmRSS (or VmHWM: the peak) of `pid` in MB."""
    if field == "VmRSS" and importlib.util.find_spec("psutil") is not None:
        import psutil

        return psutil.Process(pid).memory_info().rss / 2**20
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out += [int(c) for c in f.read().split()]
        except OSError:
            pass
    return sorted(out)


# -- our pipeline --------------------------------------------------------------------------


def time_single(dataset, seeds: list[int]) -> float:
    """Iterate the dataset; np.random is seeded per sample so the floor can redraw the frames."""
    start = time.perf_counter()
    for k, seed in enumerate(seeds):
        np.random.seed(seed)
        dataset[k % len(dataset)]
    return time.perf_counter() - start


def time_steps(dataset, seeds: list[int]) -> dict[str, float]:
    """Seconds spent in each pipeline step over the seeded samples (step name -> seconds)."""
    totals: dict[str, float] = {}
    for k, seed in enumerate(seeds):
        np.random.seed(seed)
        results = dataset._sample_results(k % len(dataset))
        for i, step in enumerate(dataset.pipeline.transforms):
            start = time.perf_counter()
            results = step(results)
            name = f"{i:>2} {type(step).__name__}"
            for prefix in BACKENDS.values():  # one row for PyAVInit, OpenCVInit, ...
                name = name.replace(f" {prefix}", " *")
            totals[name] = totals.get(name, 0.0) + time.perf_counter() - start
    return totals


def drawn_indices(dataset, seeds: list[int]) -> list[tuple[str, np.ndarray]]:
    """The frames SampleFrames drew for each seeded sample (it is the first to draw)."""
    sample = build_pipeline([sample_frames_spec()])
    out = []
    for k, seed in enumerate(seeds):
        info = dict(dataset.video_infos[k % len(dataset)])
        np.random.seed(seed)
        info.setdefault("total_frames", dataset_frames(info["filename"]))
        info.setdefault("start_index", 0)
        info.setdefault("modality", "RGB")
        out.append((info["filename"], np.asarray(sample(info)["frame_inds"])))
    return out


_FRAMES: dict[str, int] = {}


def dataset_frames(path: str) -> int:
    if path not in _FRAMES:
        with open_video(path) as reader:
            _FRAMES[path] = reader.num_frames
    return _FRAMES[path]


def time_floor(backend: str, clips: list[tuple[str, np.ndarray]]) -> float:
    """Seconds for the bare decoding loop of `backend` to return every clip's frames as RGB arrays."""
    decode = {"pyav": _bare_pyav, "opencv": _bare_opencv, "decord": _bare_decord}[backend]
    start = time.perf_counter()
    for path, inds in clips:
        frames = decode(path, np.asarray(inds))
        assert len(frames) == len(inds), (backend, path)
    return time.perf_counter() - start


def _bare_pyav(path: str, inds: np.ndarray) -> list[np.ndarray]:
    import av

    wanted = set(inds.tolist())
    got: dict[int, np.ndarray] = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "SLICE"
        rate = float(stream.average_rate)
        start_pts = stream.start_time or 0
        first = int(inds.min())
        container.seek(start_pts + int(round(first / rate / stream.time_base)), stream=stream, backward=True)
        for frame in container.decode(stream):
            index = int(round(float((frame.pts - start_pts) * stream.time_base) * rate))
            if index in wanted:
                got[index] = frame.to_ndarray(format="rgb24")
            if index >= inds.max():
                break
    return [got[i] for i in inds.tolist()]


def _bare_opencv(path: str, inds: np.ndarray) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(path)
    got: dict[int, np.ndarray] = {}
    position = int(inds.min())
    cap.set(cv2.CAP_PROP_POS_FRAMES, position)
    for target in sorted(set(inds.tolist())):
        while position < target:
            cap.grab()
            position += 1
        ok, bgr = cap.read()
        position += 1
        got[target] = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    cap.release()
    return [got[i] for i in inds.tolist()]


def _bare_decord(path: str, inds: np.ndarray) -> list[np.ndarray]:
    import decord

    return list(decord.VideoReader(path, num_threads=1).get_batch(inds.tolist()).asnumpy())


def time_loader(dataset, clips: int, workers: int, warm: int) -> float:
    """Seconds for `clips` batches of one clip after `warm` warm-up batches."""
    loader = build_dataloader(dataset, videos_per_gpu=1, workers_per_gpu=workers, dist=False,
                              shuffle=True, seed=0)
    it = _forever(loader)
    for _ in range(warm):
        next(it)
    start = time.perf_counter()
    for _ in range(clips):
        next(it)
    elapsed = time.perf_counter() - start
    del it, loader
    return elapsed


def _forever(loader):
    while True:
        yield from loader


def memory_run(dataset, iters: int, workers: int) -> dict:
    loader = build_dataloader(dataset, videos_per_gpu=1, workers_per_gpu=workers, dist=False,
                              shuffle=True, seed=0)
    return track_memory(_forever(loader), iters)


def track_memory(it, iters: int) -> dict:
    next(it)
    main = os.getpid()
    kids = children(main)
    start = {"main": rss_mb(main), **{str(k): rss_mb(k) for k in kids}}
    t0 = time.perf_counter()
    for _ in range(iters - 1):
        next(it)
    seconds = time.perf_counter() - t0
    end = {"main": rss_mb(main), **{str(k): rss_mb(k) for k in kids}}
    peak = {"main": rss_mb(main, "VmHWM"), **{str(k): rss_mb(k, "VmHWM") for k in kids}}
    return {"start": start, "end": end, "peak": peak, "seconds": seconds}


# -- MMAction2 in its own interpreter ------------------------------------------------------

PEER_SCRIPT = r"""
import gc, json, os, sys, time, types
import numpy as np
for name in ('mmaction.models.localizers.drn', 'mmaction.models.localizers.drn.drn'):
    module = types.ModuleType(name)
    module.DRN = type('DRN', (), {})
    sys.modules[name] = module
import torch
from mmcv.transforms import BaseTransform, Compose
from mmaction.datasets.transforms import (DecordDecode, DecordInit, Flip, FormatShape,
    MultiScaleCrop, PackActionInputs, PyAVDecode, PyAVInit, Resize, SampleFrames)

job = json.load(open(sys.argv[1]))
MEAN = np.array(job['mean'], np.float32)
STD = np.array(job['std'], np.float32)

class NumpyNormalize(BaseTransform):
    # 1.x normalizes in ActionDataPreprocessor; the same arithmetic, on the clip.
    def transform(self, results):
        imgs = np.asarray(results['imgs'], np.float32)
        results['imgs'] = list((imgs - MEAN) / STD)
        return results

def pipeline(init, decode):
    return Compose([init, SampleFrames(clip_len=1, frame_interval=1, num_clips=8), decode,
                    Resize(scale=(-1, 256)),
                    MultiScaleCrop(input_size=224, scales=(1, 0.875, 0.75, 0.66),
                                   random_crop=False, max_wh_scale_gap=1),
                    Resize(scale=(224, 224), keep_ratio=False), Flip(flip_ratio=0.5),
                    NumpyNormalize(), FormatShape(input_format='NCHW'), PackActionInputs()])

pipes = {
    'PyAV (accurate)': lambda: pipeline(PyAVInit(), PyAVDecode(mode='accurate')),
    'Decord (accurate)': lambda: pipeline(DecordInit(), DecordDecode(mode='accurate')),
}

def sample(pipe, path):
    return pipe({'filename': path, 'label': 0, 'start_index': 0, 'modality': 'RGB'})

class DS(torch.utils.data.Dataset):
    def __init__(self, make):
        self.make, self.pipe = make, None
    def __len__(self):
        return len(job['videos'])
    def __getitem__(self, i):
        if self.pipe is None:
            self.pipe = self.make()
        out = sample(self.pipe, job['videos'][i])
        return out['inputs']

def forever(loader):
    while True:
        yield from loader

def rss(pid, field='VmRSS'):
    for line in open(f'/proc/{pid}/status'):
        if line.startswith(field + ':'):
            return int(line.split()[1]) / 1024

def kids(pid):
    out = []
    for t in os.listdir(f'/proc/{pid}/task'):
        try:
            out += [int(c) for c in open(f'/proc/{pid}/task/{t}/children').read().split()]
        except OSError:
            pass
    return sorted(out)

def loader(make):
    # Collect the single-process runs' cyclic garbage here: PyAV >= 14 frames hold libswscale
    # contexts with their own threads, and a forked worker collecting them waits forever on
    # threads that were not forked (this hung the workers).
    gc.collect()
    return torch.utils.data.DataLoader(DS(make), batch_size=1, shuffle=True, num_workers=2,
                                       persistent_workers=True)

report = {'single': {}, 'loader': {}, 'memory': {}}
for name, make in pipes.items():
    pipe = make()
    best = float('inf')
    for _ in range(job['repeat']):
        start = time.perf_counter()
        for k, seed in enumerate(job['seeds']):
            np.random.seed(seed)
            sample(pipe, job['videos'][k % len(job['videos'])])
        best = min(best, time.perf_counter() - start)
    report['single'][name] = best
    if job['loader']:
        it = forever(loader(make))
        for _ in range(job['warm']):
            next(it)
        start = time.perf_counter()
        for _ in range(len(job['seeds'])):
            next(it)
        report['loader'][name] = time.perf_counter() - start
        del it
    if job['memory_iters'] and name in job['memory_backends']:
        it = forever(loader(make))
        next(it)
        main = os.getpid()
        ks = kids(main)
        m = {'start': {'main': rss(main), **{str(k): rss(k) for k in ks}}}
        t0 = time.perf_counter()
        for _ in range(job['memory_iters'] - 1):
            next(it)
        m['seconds'] = time.perf_counter() - t0
        m['end'] = {'main': rss(main), **{str(k): rss(k) for k in ks}}
        m['peak'] = {'main': rss(main, 'VmHWM'), **{str(k): rss(k, 'VmHWM') for k in ks}}
        report['memory'][name] = m
        del it
print(json.dumps(report))
"""


def run_peer(python: str, job: dict, workdir: Path) -> dict:
    job_file = workdir / "peer_pipeline_job.json"
    job_file.write_text(json.dumps(job))
    script = workdir / "peer_pipeline.py"
    script.write_text(PEER_SCRIPT)
    proc = subprocess.run([python, str(script), str(job_file)], capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"MMAction2 peer failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
        return {}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- report --------------------------------------------------------------------------------


def print_memory(name: str, m: dict) -> None:
    print(f"{name}: {m['seconds']:.1f} s for the iterations after the first")
    for who in m["start"]:
        label = "main" if who == "main" else f"worker {who}"
        print(f"  {label:<16} RSS start {m['start'][who]:7.1f} MB  end {m['end'][who]:7.1f} MB"
              f"  (+{m['end'][who] - m['start'][who]:.1f})  peak {m['peak'][who]:7.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--clips", type=int, default=2, help="passes over the videos per timing")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--width", type=int, default=340)
    parser.add_argument("--height", type=int, default=256)
    parser.add_argument("--gop", type=int, default=250)
    parser.add_argument("--repeat", type=int, default=2, help="best of N single-process runs")
    parser.add_argument("--workers", type=int, default=2, help="loader workers (0: skip)")
    parser.add_argument("--memory-iters", type=int, default=0,
                        help="run a 2-worker loader this many iterations and print RSS")
    parser.add_argument("--memory-backends", default="pyav",
                        help="comma-separated backends for the memory run")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep videos here between runs (default: a temp dir)")
    parser.add_argument("--mmaction-python", default=None,
                        help="interpreter with MMAction2 1.x installed, run as a subprocess")
    parser.add_argument("--peer-loader", action="store_true",
                        help="also time MMAction2's pipeline in a 2-worker DataLoader and run its "
                             "memory check (with --memory-iters)")
    parser.add_argument("--steps", action="store_true",
                        help="also print the time of each pipeline step (ms per clip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        paths = make_videos(workdir, args)
        ann_file = workdir / "pipeline_ann.txt"
        ann_file.write_text("".join(f"{p} 0\n" for p in paths))
        report(args, paths, ann_file, workdir)


def report(args, paths, ann_file: Path, workdir: Path) -> None:
    seeds = [args.seed * 100_003 + k for k in range(args.videos * args.clips)]
    backends = ["pyav", "opencv"]
    if importlib.util.find_spec("decord") is not None:
        backends.append("decord")
    size_mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
    print(f"{len(paths)} videos: {args.seconds:g} s, {args.fps} fps, {args.width}x{args.height}, "
          f"H.264 gop {args.gop}, {size_mb:.2f} MB each; {len(seeds)} TSM 1x1x8 training clips "
          f"per timing; best of {args.repeat}; {os.cpu_count()} cores "
          f"(load average {os.getloadavg()[0]:.1f} at start)")
    datasets = {b: make_dataset(ann_file, BACKENDS[b]) for b in backends}
    clips = drawn_indices(datasets["pyav"], seeds)
    single: dict[str, float] = {}
    floor: dict[str, float] = {}
    for _ in range(args.repeat):  # interleaved, so load from others spreads over all
        for b in backends:
            single[b] = min(single.get(b, float("inf")), time_single(datasets[b], seeds))
            floor[b] = min(floor.get(b, float("inf")), time_floor(b, clips))
    loader: dict[str, float] = {}
    if args.workers:
        for b in backends:
            loader[b] = time_loader(datasets[b], len(seeds), args.workers, warm=2 * args.workers)

    n = len(seeds)
    print(f"\n{'vidact backend':<22}{'pipeline 1 proc':>16}{'loader ' + str(args.workers) + 'w':>12}"
          f"{'decode floor':>14}{'pipeline/floor':>16}")
    print(f"{'':<22}{'clips/s':>16}{'clips/s':>12}{'clips/s':>14}")
    for b in backends:
        lw = f"{n / loader[b]:>12.1f}" if b in loader else f"{'-':>12}"
        print(f"{b:<22}{n / single[b]:>16.1f}{lw}{n / floor[b]:>14.1f}{single[b] / floor[b]:>16.2f}")

    if args.steps:
        steps = {b: time_steps(datasets[b], seeds) for b in backends}
        print(f"\n{'ms per clip, by step':<26}" + "".join(f"{b:>10}" for b in backends))
        for name in steps[backends[0]]:
            print(f"{name:<26}" + "".join(f"{1000 * steps[b].get(name, float('nan')) / n:>10.2f}"
                                           for b in backends))
        print(f"{'total':<26}" + "".join(f"{1000 * sum(steps[b].values()) / n:>10.2f}"
                                        for b in backends))

    peer = {}
    if args.mmaction_python:
        job = {"videos": [str(p) for p in paths], "seeds": seeds, "repeat": args.repeat,
               "mean": MEAN, "std": STD, "loader": bool(args.workers) and args.peer_loader, "warm": 2 * args.workers,
               "memory_iters": args.memory_iters if args.peer_loader else 0,
               "memory_backends": ["PyAV (accurate)"] + (
                   ["Decord (accurate)"] if "decord" in args.memory_backends else [])}
        peer = run_peer(args.mmaction_python, job, workdir)
    if peer:
        print(f"\n{'MMAction2 1.x':<22}{'pipeline 1 proc':>16}{'loader ' + str(args.workers) + 'w':>12}")
        for name, seconds in peer["single"].items():
            lw = f"{n / peer['loader'][name]:>12.1f}" if name in peer["loader"] else f"{'-':>12}"
            print(f"{name:<22}{n / seconds:>16.1f}{lw}")
        theirs_pyav = peer["single"]["PyAV (accurate)"]
        theirs_best = min(peer["single"].values())
        ours_best = min(single, key=single.get)
        print(f"\nours / MMAction2, single process (clips/s ratio):")
        print(f"  PyAV vs PyAV (accurate): {theirs_pyav / single['pyav']:.2f}x (goal >= 2)")
        print(f"  fastest ({ours_best}) vs their fastest accurate: "
              f"{theirs_best / single[ours_best]:.2f}x (goal >= 1)")
        if loader and peer["loader"]:
            tl_pyav = peer["loader"]["PyAV (accurate)"]
            print(f"  with {args.workers} loader workers: PyAV {tl_pyav / loader['pyav']:.2f}x, "
                  f"fastest {min(peer['loader'].values()) / min(loader.values()):.2f}x")

    if args.memory_iters:
        print(f"\nmemory: {args.memory_iters} iterations, 2 loader workers, batch 1")
        for b in args.memory_backends.split(","):
            if b in datasets:
                print_memory(f"vidact {b}", memory_run(datasets[b], args.memory_iters, 2))
        for name, m in peer.get("memory", {}).items():
            print_memory(f"MMAction2 {name}", m)
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
