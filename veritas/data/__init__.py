"""Dataset generation (``veritas generate``), validation (``veritas check-data``), row formats
(:mod:`veritas.data.formats`) and crash-safe writers (:mod:`veritas.data.writers`)."""
