"""Renderers of the Report: OCSF JSON, terminal, and the files ``hunt -o DIR`` writes."""
