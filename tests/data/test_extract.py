"""`vidact.data.extract`: layout, frame-count policy, options, flow, resume, failures, shards, report.

Videos are tiny (48x32, 10-14 frames, x264 with B-frames) and carry their frame index as four
8x8 blocks (bit set = white) in the top row, so the order of the written JPEGs is checkable.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidact.data.decoding import count_frames
from vidact.data.extract import (
    MANIFEST,
    ExtractOptions,
    VideoResult,
    _run,
    discover_videos,
    extract_frames,
    extract_video,
    parse_shard,
    quantize_flow,
    read_manifest,
    shard_jobs,
    write_report,
)
from vidact.errors import InputError

WIDTH, HEIGHT, CELL = 48, 32, 8


def stamp(index: int) -> np.ndarray:
    """(HEIGHT, WIDTH, 3) RGB: bits of `index` as white cells, a square moving 2 px a frame."""
    img = np.full((HEIGHT, WIDTH, 3), 50, dtype=np.uint8)
    for bit in range(4):
        if (index >> bit) & 1:
            img[:CELL, bit * CELL:(bit + 1) * CELL] = 255
    x = 4 + 2 * index
    img[14:26, x:x + 10] = (200, 120, 40)
    return img


def read_stamp(path: Path) -> int:
    grey = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    h, w = grey.shape
    sy, sx = h / HEIGHT, w / WIDTH  # resized frames: cells scale with the image
    cells = [grey[int(2 * sy):int(6 * sy), int((b * CELL + 2) * sx):int((b * CELL + 6) * sx)] for b in range(4)]
    return sum(1 << bit for bit, cell in enumerate(cells) if cell.mean() > 150)


def write_video(path: Path, num_frames: int = 12, gop: int = 5) -> Path:
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.gop_size = gop
        stream.options = {"x264-params": "scenecut=0", "crf": "12"}
        for i in range(num_frames):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(stamp(i), format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """videos/cls_a/v1.mp4 (12 frames), videos/cls_a/v2.mkv (10), videos/cls_b/v3.mp4 (14), a note."""
    root = tmp_path / "videos"
    write_video(root / "cls_a" / "v1.mp4", 12)
    write_video(root / "cls_a" / "v2.mkv", 10)
    write_video(root / "cls_b" / "v3.mp4", 14)
    (root / "cls_b" / "notes.txt").write_text("not a video")
    return root


def frame_files(folder: Path, prefix: str = "img") -> list[str]:
    return sorted(p.name for p in folder.glob(f"{prefix}_*.jpg"))


def hidden(folder: Path) -> list[Path]:
    return [p for p in folder.rglob(".*")]


# ---- layout and frames ------------------------------------------------------------------------------


def test_folder_layout_names_and_frame_count(tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    summary = extract_frames([tree], out)
    assert [r.status for r in summary.results] == ["extracted"] * 3
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*")) == ["cls_a/v1", "cls_a/v2", "cls_b/v3"]
    for rel, src in (("cls_a/v1", "cls_a/v1.mp4"), ("cls_a/v2", "cls_a/v2.mkv"), ("cls_b/v3", "cls_b/v3.mp4")):
        n = count_frames(tree / src)
        assert frame_files(out / rel) == [f"img_{k:05d}.jpg" for k in range(1, n + 1)]
        assert sorted(os.listdir(out / rel)) == [*frame_files(out / rel), MANIFEST]
    assert summary.frames == 12 + 10 + 14
    assert hidden(out) == []  # no temp folders left


def test_frames_are_written_in_presentation_order(tree: Path, tmp_path: Path):
    extract_frames([tree / "cls_b" / "v3.mp4"], tmp_path / "out")
    files = sorted((tmp_path / "out" / "v3").glob("img_*.jpg"))
    assert [read_stamp(f) for f in files] == [i % 16 for i in range(14)]
    img = cv2.imread(str(files[0]))
    assert img.shape == (HEIGHT, WIDTH, 3)
    np.testing.assert_allclose(img[20, 8], stamp(0)[20, 8, ::-1], atol=12)  # BGR on disk


def test_manifest_records_source_frames_and_policy(tree: Path, tmp_path: Path):
    src = tree / "cls_a" / "v1.mp4"
    extract_frames([src], tmp_path / "out", ExtractOptions(quality=80))
    manifest = read_manifest(tmp_path / "out" / "v1")
    import hashlib

    assert manifest["source"] == {"path": str(src), "size": src.stat().st_size,
                                  "sha256": hashlib.sha256(src.read_bytes()).hexdigest()}
    assert manifest["frames"]["count"] == manifest["video"]["num_frames"] == count_frames(src) == 12
    assert manifest["frames"]["filename_tmpl"] == "img_{:05}.jpg" and manifest["frames"]["start_index"] == 1
    assert manifest["video"]["fps"] == 25 and manifest["video"]["duration_sec"] == pytest.approx(12 / 25)
    assert "count_frames" in manifest["video"]["frame_count_policy"]
    assert manifest["decoder"]["backend"] == "pyav" and manifest["decoder"]["codec"] == "h264"
    assert manifest["settings"]["quality"] == 80 and manifest["flow"] is None


def test_every_keeps_every_nth_source_frame(tree: Path, tmp_path: Path):
    result = extract_video(tree / "cls_a" / "v1.mp4", tmp_path / "v1", ExtractOptions(every=5))
    assert result.frames == 3  # source frames 0, 5, 10 of 12
    assert [read_stamp(f) for f in sorted((tmp_path / "v1").glob("img_*.jpg"))] == [0, 5, 10]
    assert read_manifest(tmp_path / "v1")["frames"]["every"] == 5


@pytest.mark.parametrize(("options", "size"), [
    (ExtractOptions(short_side=16), (24, 16)),
    (ExtractOptions(short_side=64), (96, 64)),
    (ExtractOptions(new_size=(20, 30)), (20, 30)),
])
def test_resize_options(tree: Path, tmp_path: Path, options: ExtractOptions, size: tuple[int, int]):
    extract_video(tree / "cls_a" / "v1.mp4", tmp_path / "v1", options)
    img = cv2.imread(str(tmp_path / "v1" / "img_00003.jpg"))
    assert (img.shape[1], img.shape[0]) == size
    assert read_manifest(tmp_path / "v1")["frames"]["width"] == size[0]
    if options.short_side:
        assert read_stamp(tmp_path / "v1" / "img_00003.jpg") == 2


@pytest.mark.parametrize("kwargs", [
    dict(short_side=16, new_size=(8, 8)), dict(every=0), dict(quality=101), dict(flow_algo="tvl1"), dict(bound=0),
])
def test_bad_options_are_input_errors(kwargs):
    with pytest.raises(InputError):
        ExtractOptions(**kwargs)


# ---- optical flow -----------------------------------------------------------------------------------


@pytest.mark.parametrize("algo", ["dis", "farneback"])
def test_flow_writes_n_minus_one_pairs_of_rightward_motion(tree: Path, tmp_path: Path, algo: str):
    options = ExtractOptions(flow=True, flow_algo=algo, bound=8)
    result = extract_video(tree / "cls_a" / "v1.mp4", tmp_path / "v1", options)
    folder = tmp_path / "v1"
    assert result.frames == 12 and result.flow_frames == 11
    assert frame_files(folder, "x") == [f"x_{k:05d}.jpg" for k in range(1, 12)]
    assert frame_files(folder, "y") == [f"y_{k:05d}.jpg" for k in range(1, 12)]
    x = cv2.imread(str(folder / "x_00003.jpg"), cv2.IMREAD_GRAYSCALE).astype(float)
    y = cv2.imread(str(folder / "y_00003.jpg"), cv2.IMREAD_GRAYSCALE).astype(float)
    # The square moves +2 px in x: (2 * 255 / 16 + 128) = 160 inside it, no vertical motion.
    assert x[17:23, 14:20].mean() > 140
    assert abs(y[17:23, 14:20].mean() - 128) < 10
    flow = read_manifest(folder)["flow"]
    assert flow["count"] == 11 and flow["algo"] == algo and flow["bound"] == 8


def test_quantize_flow_maps_bound_to_the_byte_range():
    flow = np.array([[[0.0, 20.0], [-20.0, 10.0], [50.0, -50.0], [-10.0, 1.0]]], dtype=np.float32)
    q = quantize_flow(flow, bound=20)
    # clip(f, -20, 20) * 255 / 40 + 128, rounded half to even, clipped to [0, 255].
    assert q.dtype == np.uint8
    assert q.tolist() == [[[128, 255], [0, 192], [255, 0], [64, 134]]]


# ---- resume and failures ------------------------------------------------------------------------------


def test_rerun_skips_done_videos(tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    extract_frames([tree], out)
    stamp_before = (out / "cls_a" / "v1" / "img_00001.jpg").stat().st_mtime_ns
    summary = extract_frames([tree], out)
    assert [r.status for r in summary.results] == ["skipped"] * 3
    assert [r.frames for r in summary.results] == [12, 10, 14] and summary.frames == 0
    assert (out / "cls_a" / "v1" / "img_00001.jpg").stat().st_mtime_ns == stamp_before
    again = extract_frames([tree], out, overwrite=True)
    assert [r.status for r in again.results] == ["extracted"] * 3
    assert hidden(out) == []


def test_rerun_redoes_partial_videos(tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    extract_frames([tree], out)
    # An interrupted run: v1's temp folder left behind, v3's folder without its manifest.
    leftover = out / "cls_a" / ".v1.partial-x1y2"
    leftover.mkdir()
    (leftover / "img_00001.jpg").write_bytes(b"half")
    (out / "cls_a" / "v1" / MANIFEST).unlink()
    (out / "cls_b" / "v3" / MANIFEST).unlink()
    (out / "cls_b" / "v3" / "img_00014.jpg").unlink()
    summary = extract_frames([tree], out)
    assert {r.output.split("out/")[1]: r.status for r in summary.results} == {
        "cls_a/v1": "extracted", "cls_a/v2": "skipped", "cls_b/v3": "extracted"}
    assert not leftover.exists() and hidden(out) == []
    assert len(frame_files(out / "cls_b" / "v3")) == 14 and read_manifest(out / "cls_b" / "v3")


def test_missing_last_frame_or_changed_source_is_redone(tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    extract_frames([tree], out)
    (out / "cls_a" / "v2" / "img_00010.jpg").unlink()
    write_video(tree / "cls_b" / "v3.mp4", 6)  # the source changed since
    summary = extract_frames([tree], out)
    assert [r.status for r in summary.results] == ["skipped", "extracted", "extracted"]
    assert len(frame_files(out / "cls_b" / "v3")) == 6


def test_other_settings_need_overwrite(tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    extract_frames([tree], out)
    with pytest.raises(InputError, match="extracted with other settings .and 2 more."):
        extract_frames([tree], out, ExtractOptions(short_side=16))
    summary = extract_frames([tree], out, ExtractOptions(short_side=16), overwrite=True)
    assert summary.count("extracted") == 3
    assert cv2.imread(str(out / "cls_a" / "v1" / "img_00001.jpg")).shape[:2] == (16, 24)


def test_corrupt_video_is_recorded_and_the_run_goes_on(tree: Path, tmp_path: Path):
    (tree / "cls_a" / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + os.urandom(2000))
    (tree / "cls_b" / "empty.mp4").write_bytes(b"")
    out = tmp_path / "out"
    summary = extract_frames([tree], out)
    by_rel = {r.output.split("out/")[1]: r for r in summary.results}
    assert by_rel["cls_a/bad"].status == by_rel["cls_b/empty"].status == "failed"
    assert "not a readable video" in by_rel["cls_a/bad"].reason
    assert by_rel["cls_b/empty"].reason == "empty file"
    assert summary.count("extracted") == 3 and summary.count("failed") == 2
    assert not (out / "cls_a" / "bad").exists() and hidden(out) == []
    assert [f["source"] for f in summary.to_dict()["failures"]] == [str(tree / "cls_a" / "bad.mp4"),
                                                                    str(tree / "cls_b" / "empty.mp4")]


def test_truncated_video_writes_exactly_count_frames(tmp_path: Path):
    import av

    full = tmp_path / "full.mp4"
    with av.open(str(full), "w", options={"movflags": "faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.options = {"crf": "12"}
        for i in range(40):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(stamp(i % 16), format="rgb24")))
        container.mux(stream.encode())
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size * 2 // 3])
    result = extract_video(cut, tmp_path / "cut", ExtractOptions())
    assert result.status == "extracted" and result.frames == count_frames(cut) < 40
    assert [read_stamp(f) for f in sorted((tmp_path / "cut").glob("img_*.jpg"))] == list(range(result.frames))


# ---- inputs and shards --------------------------------------------------------------------------------


def test_list_file_keeps_relative_folders_and_ignores_labels(tree: Path, tmp_path: Path):
    listing = tree / "train_list.txt"
    listing.write_text("# videos\ncls_a/v1.mp4 0\n\ncls_b/v3.mp4 1\n" f"{tree / 'cls_a' / 'v2.mkv'}\n")
    jobs = discover_videos([listing])
    assert [(Path(j.source).name, j.rel) for j in jobs] == [("v1.mp4", "cls_a/v1"), ("v3.mp4", "cls_b/v3"),
                                                            ("v2.mkv", "v2")]


def test_list_file_with_a_missing_entry_names_the_line(tree: Path):
    listing = tree / "list.txt"
    listing.write_text("cls_a/v1.mp4\ncls_a/nope.mp4\n")
    with pytest.raises(InputError, match=r"list.txt:2: .*nope.mp4: no such file"):
        discover_videos([listing])


def test_input_errors(tree: Path, tmp_path: Path):
    with pytest.raises(InputError, match="no such file or folder"):
        discover_videos([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no videos found"):
        discover_videos([tmp_path / "empty"])
    write_video(tmp_path / "other" / "v1.mp4", 3)
    with pytest.raises(InputError, match="would both be extracted to 'v1'"):
        discover_videos([tree / "cls_a" / "v1.mp4", tmp_path / "other" / "v1.mp4"])


@pytest.mark.parametrize("count", [1, 2, 3, 7])
def test_shards_partition_the_sorted_inputs(tree: Path, count: int):
    jobs = discover_videos([tree])
    shards = [shard_jobs(jobs, i, count) for i in range(count)]
    flat = [job for shard in shards for job in shard]
    assert sorted(flat, key=lambda j: j.rel) == jobs and len(flat) == len(set(flat))
    assert shards == [shard_jobs(discover_videos([tree]), i, count) for i in range(count)]  # deterministic


def test_sharded_runs_together_extract_everything(tree: Path, tmp_path: Path):
    out = tmp_path / "out"
    done = [r.source for i in range(2) for r in extract_frames([tree], out, shard=(i, 2)).results]
    assert sorted(done) == sorted(j.source for j in discover_videos([tree]))
    assert extract_frames([tree], out).count("skipped") == 3


@pytest.mark.parametrize("text", ["2/2", "1", "-1/3", "a/b", "0/0"])
def test_parse_shard_rejects(text: str):
    with pytest.raises(InputError, match="--shard"):
        parse_shard(text)


def test_parse_shard():
    assert parse_shard("3/8") == (3, 8) and parse_shard(" 0 / 1 ") == (0, 1)


# ---- report, progress, workers ------------------------------------------------------------------------


def test_report_and_progress(tree: Path, tmp_path: Path):
    (tree / "bad.mp4").write_bytes(b"garbage")
    calls = []
    summary = extract_frames([tree], tmp_path / "out", progress=lambda r, done, total: calls.append((done, total)))
    assert calls == [(0, 4), (1, 4), (2, 4), (3, 4), (4, 4)]
    write_report(summary, tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    assert {k: report[k] for k in ("videos", "extracted", "skipped", "failed", "frames")} == {
        "videos": 4, "extracted": 3, "skipped": 0, "failed": 1, "frames": 36}
    assert [r["status"] for r in report["results"]] == ["failed", "extracted", "extracted", "extracted"]
    assert report["results"][1]["output"] == str(tmp_path / "out" / "cls_a" / "v1")
    assert report["results"][1]["frames"] == report["results"][1]["num_frames"] == 12
    assert report["failures"] == [{"source": str(tree / "bad.mp4"), "reason": report["results"][0]["reason"]}]


def test_worker_processes_give_the_same_output(tree: Path, tmp_path: Path):
    one = extract_frames([tree], tmp_path / "one", workers=1)
    two = extract_frames([tree], tmp_path / "two", workers=2)
    assert [(r.status, r.frames) for r in one.results] == [(r.status, r.frames) for r in two.results]
    for rel in ("cls_a/v1", "cls_b/v3"):
        assert (tmp_path / "one" / rel / "img_00007.jpg").read_bytes() == \
               (tmp_path / "two" / rel / "img_00007.jpg").read_bytes()


def crash_on_bad(args) -> VideoResult:
    """Worker stand-in: dies like a segfaulting decoder on sources named 'crash'."""
    job = args[0]
    if "crash" in job.source:
        os._exit(3)
    return VideoResult(job.source, job.rel, "extracted", frames=1)


def test_a_crashing_worker_fails_only_its_video(tmp_path: Path):
    from vidact.data.extract import VideoJob

    jobs = [VideoJob(f"{name}.mp4", name) for name in ("a", "b", "crash", "c", "d")]
    results: list[VideoResult] = []
    _run(jobs, tmp_path, ExtractOptions(), 2, 1, results.append, fn=crash_on_bad)
    status = {Path(r.source).stem: r.status for r in results}
    assert status == {"a": "extracted", "b": "extracted", "c": "extracted", "d": "extracted", "crash": "failed"}
    assert len(results) == 5


# ---- threading -----------------------------------------------------------------------------------


def test_encoding_thread_writes_the_same_files(tree: Path, tmp_path: Path):
    source = tree / "cls_b" / "v3.mp4"  # 14 frames: one full batch of 8 and a partial one
    inline = extract_video(source, tmp_path / "inline", ExtractOptions(every=1))
    threaded = extract_video(source, tmp_path / "threaded", ExtractOptions(every=1), encode_thread=True)
    assert inline.frames == threaded.frames == 14
    for name in frame_files(tmp_path / "inline"):
        assert (tmp_path / "inline" / name).read_bytes() == (tmp_path / "threaded" / name).read_bytes()
    assert [read_stamp(tmp_path / "threaded" / n) for n in frame_files(tmp_path / "threaded")] == list(range(14))


def test_a_failing_encoding_thread_fails_the_video(tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    import vidact.data.extract.images as images

    def broken(path, img, quality):
        raise OSError(f"{path}: disk full")

    monkeypatch.setattr(images, "write_jpeg", broken)
    result = extract_video(tree / "cls_a" / "v1.mp4", tmp_path / "v1", encode_thread=True)
    assert result.status == "failed" and "disk full" in result.reason
    assert not (tmp_path / "v1").exists() and hidden(tmp_path) == []


@pytest.mark.parametrize(("share", "decode_threads", "contended", "plan"), [
    (1, None, False, (1, False)),  # a core per worker: decode and encode in one thread
    (1, None, True, (2, False)),   # ... beside other jobs: two frame threads decode ahead
    (2, None, False, (1, True)),   # a spare core: JPEG encoding on a second thread
    (2, None, True, (1, True)),
    (4, None, False, (3, True)),
    (1, 4, False, (4, False)),     # decode_threads wins for decoding
    (1, 4, True, (4, False)),
])
def test_thread_plan(share: int, decode_threads: int | None, contended: bool, plan: tuple[int, bool]):
    from vidact.data.extract.run import _thread_plan

    assert _thread_plan(share, decode_threads, contended) == plan


@pytest.mark.parametrize(("text", "ours", "tree", "contended"), [
    (b"0.50 0.40 0.30 2/300 1234\n", 2, None, False),  # only our two workers run
    (b"3.10 2.00 1.00 3/300 1234\n", 2, None, True),   # one more task competes
    (b"3.10 2.00 1.00 5/300 1234\n", 2, 5, False),     # all five are threads of ours
    (b"3.10 2.00 1.00 5/300 1234\n", 2, 4, True),      # one of the five is not
    (b"garbled", 2, 1, False),
])
def test_cores_contended_reads_the_runnable_tasks(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, text: bytes,
                                                   ours: int, tree: int | None, contended: bool):
    import builtins

    import vidact.data.extract.run as run

    fake = tmp_path / "loadavg"
    fake.write_bytes(text)
    real_open = builtins.open
    monkeypatch.setattr(builtins, "open", lambda path, *a, **k: real_open(fake if path == "/proc/loadavg" else path,
                                                                          *a, **k))
    monkeypatch.setattr(run, "_tree_running", lambda root: tree)
    assert run._cores_contended(ours, root=1234) is contended


@pytest.mark.skipif(not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists(),
                    reason="needs Linux's /proc with children lists")
def test_tree_running_counts_the_runnable_threads_of_a_process_tree():
    import subprocess
    import sys
    import time

    import vidact.data.extract.run as run

    assert run._tree_running(os.getpid(), depth=0) >= 1  # this thread, reading
    # a sleeping process whose child spins: the runnable thread is found one generation down
    # (started from a thread that is still running: children are listed per thread)
    spin = ("import subprocess, sys, threading, time\n"
            "def start():\n"
            "    subprocess.Popen([sys.executable, '-c', 'while True: pass'])\n"
            "    time.sleep(60)\n"
            "threading.Thread(target=start).start()\n"
            "time.sleep(60)\n")
    sleeper = subprocess.Popen([sys.executable, "-c", spin], start_new_session=True)
    try:
        time.sleep(0.5)
        assert max(run._tree_running(sleeper.pid, depth=0) for _ in range(50)) == 0
        assert max(run._tree_running(sleeper.pid) for _ in range(200)) == 1
    finally:
        os.killpg(sleeper.pid, 9)
        sleeper.wait()
    assert run._tree_running(sleeper.pid) is None  # gone


# ---- the bytes written ---------------------------------------------------------------------------


def reference_jpegs(source: Path, quality: int = 95) -> list[bytes]:
    """The obvious way: decode every frame, PyAV's I420 array -> OpenCV BGR (swscale's bgr24
    for other pixel formats), libjpeg at `quality`."""
    import av

    with av.open(str(source)) as container:
        frames = list(container.decode(video=0))
    jpegs = []
    for frame in frames:
        if frame.format.name == "yuv420p":
            bgr = cv2.cvtColor(frame.to_ndarray(format="yuv420p"), cv2.COLOR_YUV2BGR_I420)
        else:
            bgr = frame.to_ndarray(format="bgr24")
        jpegs.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
    return jpegs


# 54x38: padded rows in every plane; yuv444p: the swscale path
@pytest.mark.parametrize(("width", "height", "pix_fmt"), [(48, 32, "yuv420p"), (54, 38, "yuv420p"), (48, 32, "yuv444p")])
@pytest.mark.parametrize("encode_thread", [False, True])
def test_frames_are_byte_identical_to_the_obvious_decode_convert_encode(tmp_path: Path, width: int, height: int,
                                                                        pix_fmt: str, encode_thread: bool):
    import av

    source = tmp_path / "v.mp4"
    with av.open(str(source), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        rng = np.random.default_rng(0)
        for i in range(11):
            img = cv2.resize(stamp(i), (width, height), interpolation=cv2.INTER_NEAREST)
            img = np.clip(img + rng.integers(0, 30, img.shape), 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        container.mux(stream.encode())
    expected = reference_jpegs(source)
    for threads in (1, 2):  # 2: FFmpeg frame threading, as workers decode beside other jobs
        out = tmp_path / f"out{threads}"
        result = extract_video(source, out, encode_thread=encode_thread, threads=threads)
        assert result.frames == len(expected) == 11
        assert [(out / n).read_bytes() for n in frame_files(out)] == expected
