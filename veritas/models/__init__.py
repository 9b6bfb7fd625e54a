"""Model preparation: the embedded demo model (``veritas prepare-model``)."""
