"""Subcommands of the `vidact` app: thin adapters over the library (one module each)."""
