"""Temporal localizers. Importing this package registers them in `LOCALIZERS`."""

from vidact.models.localizers.pem import PEM
from vidact.models.localizers.tem import TEM

__all__ = ["PEM", "TEM"]
