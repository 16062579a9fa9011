"""vidact: video action understanding from the command line and from Python."""

from vidact.threads import default_passive_wait

# The one side effect, and it must come first: idle OpenMP threads sleep instead of spinning
# (OMP_WAIT_POLICY=PASSIVE unless the environment already sets a policy). The OpenMP runtime reads
# it when torch loads, so it has to be set before any vidact module can import torch.
default_passive_wait()

__version__ = "0.1.0"

__all__ = ["__version__"]
