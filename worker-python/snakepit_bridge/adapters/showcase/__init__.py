"""The showcase adapter's helpers, importable as in the streaming guide."""
