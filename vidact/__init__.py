"""vidact: video action understanding from the command line and from Python."""

from __future__ import annotations

from typing import Any

from vidact.threads import default_passive_wait

# The one side effect, and it must come first: idle OpenMP threads sleep instead of spinning
# (OMP_WAIT_POLICY=PASSIVE unless the environment already sets a policy). The OpenMP runtime reads
# it when torch loads, so it has to be set before any vidact module can import torch.
default_passive_wait()

__version__ = "0.1.0"

__all__ = ["__version__", "load_model"]


def load_model(recipe: Any, checkpoint: Any = None, *, overrides: Any = (), device: Any = "cpu") -> Any:
    """A recipe's model in eval mode, with a vidact or MMAction checkpoint's weights when given.

    See `vidact.engine.importing.load_model` (imported here on first use: `import vidact` stays light).
    """
    from vidact.engine.importing import load_model as _load_model

    return _load_model(recipe, checkpoint, overrides=overrides, device=device)
