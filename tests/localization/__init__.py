"""Tests for vidact.localization (a package so its helpers import relatively)."""
