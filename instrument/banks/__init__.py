"""Embedded item banks (instrument specifications shipped with the package)."""
