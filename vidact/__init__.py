"""vidact: video action understanding from the command line and from Python."""

__version__ = "0.1.0"

__all__ = ["__version__"]
