"""Reading pretrained weight files: wrappers, prefixes and clear errors."""

from __future__ import annotations

import pytest
import torch

from vidact.errors import CheckpointError
from vidact.models.weights import read_state_dict, select_prefix


@pytest.mark.parametrize(
    "wrap", [lambda s: s, lambda s: {"state_dict": s, "meta": {}}, lambda s: {"model": s}]
)
def test_read_state_dict_unwraps_and_strips_ddp_prefixes(tmp_path, wrap) -> None:
    path = tmp_path / "w.pth"
    torch.save(wrap({"module.conv1.weight": torch.ones(2), "bn1.bias": torch.zeros(2)}), path)
    assert set(read_state_dict(path)) == {"conv1.weight", "bn1.bias"}


def test_unreadable_files_are_checkpoint_errors(tmp_path) -> None:
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read weights"):
        read_state_dict(bad)
    empty = tmp_path / "empty.pth"
    torch.save({"epoch": 3}, empty)
    with pytest.raises(CheckpointError, match="no state dict"):
        read_state_dict(empty)


def test_select_prefix_keeps_the_backbone_part_of_a_whole_model() -> None:
    state = {"backbone.conv1.weight": torch.ones(1), "cls_head.fc_cls.weight": torch.ones(1)}
    assert set(select_prefix(state, "backbone.")) == {"conv1.weight"}
    assert select_prefix({"conv1.weight": torch.ones(1)}, "backbone.").keys() == {"conv1.weight"}
