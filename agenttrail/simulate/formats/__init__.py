"""Converters from a simulated dataset to other real formats (one module per format, each with
``convert(src, dst) -> list[str]``)."""
