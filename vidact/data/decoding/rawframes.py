"""`RawFramesReader`: frames stored as image files in a folder (`img_00001.jpg`, ...).

RGB frames are one colour image per frame; optical flow is two grey images per frame,
`x_00001.jpg` and `y_00001.jpg`, read as a (H, W, 2) array (x, y).
"""

from __future__ import annotations

import os

import numpy as np

from vidact.data.decoding.base import VideoReader, as_frame_indices, gather_frames
from vidact.errors import DecodeError

DEFAULT_TMPL = {"RGB": "img_{:05}.jpg", "Flow": "{}_{:05d}.jpg"}
IMAGE_BACKENDS = ("cv2", "pillow", "turbojpeg")


class RawFramesReader(VideoReader):
    """Read frames from a folder of images named by `filename_tmpl`.

    Frame `i` is the file numbered `i + start_index`. The frame count is the number of
    consecutive files from `start_index` (Flow: frames with both x and y images), listed once.

    Args:
        frame_dir: folder holding the images.
        filename_tmpl: `str.format` template; RGB takes the number (`img_{:05}.jpg`), Flow
            takes the direction then the number (`{}_{:05d}.jpg`). None: that default.
        start_index: number of the first file (1 for `img_00001.jpg`).
        modality: 'RGB' or 'Flow'.
        decoding_backend: image decoder, 'cv2', 'pillow' or 'turbojpeg' (JPEG only; needs
            PyTurboJPEG and libjpeg-turbo).
        fps: frame rate of the source video if known (only for `fps` and `duration`).

    Raises:
        DecodeError: `frame_dir` is not a folder.
    """

    def __init__(
        self,
        frame_dir: str | os.PathLike,
        *,
        filename_tmpl: str | None = None,
        start_index: int = 1,
        modality: str = "RGB",
        decoding_backend: str = "cv2",
        fps: float | None = None,
    ) -> None:
        if modality not in DEFAULT_TMPL:
            raise ValueError(f"modality must be 'RGB' or 'Flow', got {modality!r}")
        if decoding_backend not in IMAGE_BACKENDS:
            raise ValueError(
                f"decoding_backend must be one of {IMAGE_BACKENDS}, got {decoding_backend!r}"
            )
        if decoding_backend == "turbojpeg":
            import_turbojpeg()
        self.path = os.fspath(frame_dir)
        if not os.path.isdir(self.path):
            raise DecodeError(f"{self.path}: no such frame folder")
        self.filename_tmpl = filename_tmpl or DEFAULT_TMPL[modality]
        self.start_index = start_index
        self.modality = modality
        self.decoding_backend = decoding_backend
        self._fps = fps
        self._num_frames: int | None = None
        self._shape: tuple[int, int] | None = None

    # -- metadata -----------------------------------------------------------------------

    @property
    def num_frames(self) -> int:
        if self._num_frames is None:
            names = set(os.listdir(self.path))
            count = 0
            while all(name in names for name in self._file_names(self.start_index + count)):
                count += 1
            self._num_frames = count
        return self._num_frames

    @property
    def fps(self) -> float | None:
        return self._fps

    @property
    def shape(self) -> tuple[int, int]:
        if self._shape is None:
            self._shape = self.read_file_number(self.start_index).shape[:2]
        return self._shape

    # -- reading ------------------------------------------------------------------------

    def get_frames(self, indices: np.ndarray) -> np.ndarray:
        """Read frames `indices` (0-based; file number = index + start_index).

        Returns:
            imgs: (T, H, W, 3) uint8 RGB, or (T, H, W, 2) uint8 x/y for Flow.

        Raises:
            IndexError: a negative index.
            DecodeError: an image is missing or unreadable (the message names the file).
        """
        indices = as_frame_indices(indices, None, self.path)
        if indices.size == 0:
            channels = 3 if self.modality == "RGB" else 2
            return np.zeros((0, *self.shape, channels), dtype=np.uint8)
        frames = {
            int(idx): self.read_file_number(int(idx) + self.start_index)
            for idx in np.unique(indices)
        }
        return gather_frames(frames, indices)

    def read_file_number(self, number: int) -> np.ndarray:
        """Read the frame stored under file number `number`: (H, W, 3) RGB or (H, W, 2) flow."""
        paths = [os.path.join(self.path, name) for name in self._file_names(number)]
        if self.modality == "RGB":
            return read_image(paths[0], grayscale=False, backend=self.decoding_backend)
        x_flow, y_flow = (read_image(p, grayscale=True, backend=self.decoding_backend)
                          for p in paths)
        if x_flow.shape != y_flow.shape:
            raise DecodeError(f"{paths[1]}: size {y_flow.shape} differs from {paths[0]}")
        return np.stack([x_flow, y_flow], axis=-1)

    def _file_names(self, number: int) -> list[str]:
        if self.modality == "RGB":
            return [self.filename_tmpl.format(number)]
        return [self.filename_tmpl.format(axis, number) for axis in ("x", "y")]

    def __repr__(self) -> str:
        return (f"RawFramesReader({self.path!r}, filename_tmpl={self.filename_tmpl!r}, "
                f"start_index={self.start_index}, modality={self.modality!r})")


def read_image(path: str, *, grayscale: bool, backend: str = "cv2") -> np.ndarray:
    """Decode one image file to (H, W, 3) uint8 RGB, or (H, W) uint8 when `grayscale`.

    Raises:
        DecodeError: the file is missing or cannot be decoded.
    """
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise DecodeError(f"{path}: frame image not found") from None
    except OSError as exc:
        raise DecodeError(f"{path}: cannot read frame image ({exc.strerror})") from exc
    img = None
    if data:
        decode = {"cv2": _decode_cv2, "pillow": _decode_pillow, "turbojpeg": _decode_turbojpeg}[backend]
        img = decode(data, grayscale)
    if img is None:
        raise DecodeError(f"{path}: not a decodable image")
    return img


def _decode_cv2(data: bytes, grayscale: bool) -> np.ndarray | None:
    import cv2

    flag = cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR
    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flag)
    if img is None or grayscale:
        return img
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _decode_pillow(data: bytes, grayscale: bool) -> np.ndarray | None:
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            return np.asarray(img.convert("L" if grayscale else "RGB"))
    except (UnidentifiedImageError, OSError):
        return None


_turbojpeg_decoder = None


def import_turbojpeg():
    """The `turbojpeg` module, or an ImportError that says how to install it."""
    try:
        import turbojpeg
    except ImportError as exc:
        raise ImportError(
            "decoding_backend='turbojpeg' needs PyTurboJPEG (and libjpeg-turbo): "
            "pip install 'vidact[turbojpeg]' (or PyTurboJPEG), or use 'cv2' or 'pillow'"
        ) from exc
    return turbojpeg


def _decode_turbojpeg(data: bytes, grayscale: bool) -> np.ndarray | None:
    global _turbojpeg_decoder
    turbojpeg = import_turbojpeg()
    if _turbojpeg_decoder is None:  # loads libjpeg-turbo once per process
        _turbojpeg_decoder = turbojpeg.TurboJPEG()
    fmt = turbojpeg.TJPF_GRAY if grayscale else turbojpeg.TJPF_RGB
    try:
        img = _turbojpeg_decoder.decode(data, pixel_format=fmt)
    except OSError:  # not a JPEG, or a damaged one
        return None
    return img[..., 0] if grayscale and img.ndim == 3 else img
