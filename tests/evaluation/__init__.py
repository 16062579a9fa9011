"""Tests of vidact.evaluation (and the synthetic ActivityNet generator it is benchmarked on)."""
