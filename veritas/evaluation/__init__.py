"""Evaluation of models on held-out LGC-V2 tasks."""
