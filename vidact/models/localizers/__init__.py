"""Temporal localizers. Importing this package registers them in `LOCALIZERS`."""

from vidact.models.localizers.bmn import BMN

__all__ = ["BMN"]
