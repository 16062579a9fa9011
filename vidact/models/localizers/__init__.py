"""Temporal action localizers. Importing this package registers them in `LOCALIZERS`."""

from vidact.models.localizers.ssn import SSN

__all__ = ["SSN"]
