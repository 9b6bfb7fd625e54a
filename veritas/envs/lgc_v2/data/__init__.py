"""Precomputed puzzle tables and the scripts that build them."""
