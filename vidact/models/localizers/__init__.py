"""Temporal localizers. Importing this package registers them in `LOCALIZERS`."""

from vidact.models.localizers.bmn import BMN
from vidact.models.localizers.pem import PEM
from vidact.models.localizers.ssn import SSN
from vidact.models.localizers.tem import TEM

__all__ = ["BMN", "PEM", "SSN", "TEM"]
