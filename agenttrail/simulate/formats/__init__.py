"""Converters of a simulated dataset into other input formats (one module per format)."""
