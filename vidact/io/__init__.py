"""File helpers shared by the library: atomic writes, JSON/NPY reading with good errors."""

from vidact.io.files import atomic_write, atomic_write_bytes, atomic_write_text, read_json

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "read_json"]
