"""Which annotation file a results file was made from: recorded by its writer, read back by `vidact eval`.

Writers (`vidact test` scores; proposal and detection results) put `annotation_record(ann)` into
the file's "protocol" object; `vidact eval` without --ann calls `recorded_annotation(results)`.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from vidact.errors import InputError

ANN_FILE_KEY = "ann_file"
ANN_SHA256_KEY = "ann_file_sha256"


def annotation_record(ann_file: str | os.PathLike) -> dict[str, str]:
    """The protocol entries naming an annotation file: its absolute path and its sha256.

    Merge them into a results file's protocol: `{"protocol": {..., **annotation_record(ann)}}`.
    """
    path = Path(ann_file)
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {ANN_FILE_KEY: str(path.resolve()), ANN_SHA256_KEY: digest.hexdigest()}


def recorded_annotation(results: str | os.PathLike) -> Path:
    """The annotation file a scores or results file records in its protocol (see `annotation_record`).

    Reads JSON scores or results (`{"protocol": {"ann_file": ...}}`, "meta" accepted too) and
    `.npy` scores through their `<file>.protocol.json` sidecar.

    Raises:
        InputError: stdin, a file recording no annotation file, or one recording a file that is gone.
    """
    from vidact.io.files import read_json
    from vidact.io.scores import extract_protocol

    name = str(results)
    if name == "-":
        raise InputError("--ann is needed when the results come from stdin ('-')")
    path = Path(name)
    sidecar = Path(name + ".protocol.json")
    if path.suffix.lower() == ".npy":
        if not path.is_file():
            raise InputError(f"{name}: no such file")
        document: Any = read_json(sidecar) if sidecar.is_file() else {}
        source = str(sidecar)
        protocol = (extract_protocol(document, source) if isinstance(document, dict) and
                    ("protocol" in document or "meta" in document) else document)
    else:
        document = read_json(path)
        source = name
        protocol = extract_protocol(document, name) if isinstance(document, dict) else None
    recorded = protocol.get(ANN_FILE_KEY) if isinstance(protocol, dict) else None
    if not recorded or not isinstance(recorded, str):
        raise InputError(f"{source}: records no annotation file (protocol.{ANN_FILE_KEY})",
                         hint="pass --ann FILE with the ground truth the results were made for")
    if not Path(recorded).is_file():
        raise InputError(f"{source}: the annotation file it records, {recorded}, does not exist",
                         hint="pass --ann FILE with the ground truth the results were made for")
    return Path(recorded)
