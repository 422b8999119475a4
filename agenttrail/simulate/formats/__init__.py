"""Converters from a simulated dataset to other real formats: ``convert(src, dst)`` per format."""
