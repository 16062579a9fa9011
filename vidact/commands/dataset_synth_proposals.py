"""`vidact dataset synth-proposals`: an SSN proposal list from per-video ground truth (jittered) or sliding windows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vidact.commands._common import JsonOpt, err, print_json


def synth_proposals_command(
    ann: Annotated[Path, typer.Argument(help="Per-video ground truth (anet_anno_train.json / anet_anno_val.json).",
                                        dir_okay=False, show_default=False)],
    classes: Annotated[Path, typer.Option("--classes", help="Class names, one per line (label = line number).",
                                          dir_okay=False, show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Proposal list to write.", dir_okay=False,
                                      show_default=False)],
    sliding_windows: Annotated[bool, typer.Option(
        "--sliding-windows", help="Ground-truth-free multi-scale sliding windows (a baseline) instead.")] = False,
    per_gt: Annotated[int, typer.Option("--per-gt", min=1, help="Jittered copies of each instance.")] = 8,
    num_random: Annotated[int, typer.Option("--num-random", min=0, help="Random windows per video.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Random seed of the jitter.")] = 0,
    as_json: JsonOpt = False,
) -> None:
    """Write an SSN proposal list (frames, with each proposal's best IoU and self-overlap) for SSNDataset.

    By default each ground-truth instance gets jittered copies (shifted and rescaled) and each video
    random windows, so training sees positive, incomplete and background proposals. The ground truth
    is copied into the list, so it also serves as the THUMOS'14-style ground truth of `vidact eval`.

    Examples:

        vidact dataset synth-proposals data/synth_loc/anet_anno_train.json --classes data/synth_loc/classes.txt \\
            --out data/synth_loc/proposals_train.txt

        vidact dataset synth-proposals data/synth_loc/anet_anno_val.json --classes data/synth_loc/classes.txt \\
            --sliding-windows --out data/synth_loc/windows_val.txt
    """
    from vidact.data.annotations.lists import read_class_names
    from vidact.data.annotations.ssn_proposals import make_proposal_list
    from vidact.io.files import atomic_write_text

    text, counts = make_proposal_list(ann, read_class_names(classes), sliding=sliding_windows, seed=seed,
                                      per_gt=per_gt, num_random=num_random)
    atomic_write_text(out, text)
    kind = "sliding windows" if sliding_windows else "jittered ground truth + random windows"
    err.print(f"wrote {out}: {counts['videos']} videos, {counts['ground_truths']} ground truths, "
              f"{counts['proposals']} proposals ({kind})", highlight=False, soft_wrap=True)
    if as_json:
        print_json({"out": str(out), **counts})
