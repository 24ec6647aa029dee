"""Normalization, weighting schemes, frozen weight files and the composite score."""
