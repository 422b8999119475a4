"""Converters from a simulated dataset (``agenttrail.simulate.simulate``) to other input formats.

Each module has ``convert(src, dst) -> list[str]``: it reads the dataset under ``src`` and writes
the same events in its format under ``dst`` (endpoint files under ``macs/<host>/``, login files
under ``servers/<host>/``, flow files under ``net/``), returning the relative paths written.
Output is deterministic: the same input gives the same bytes.
"""
