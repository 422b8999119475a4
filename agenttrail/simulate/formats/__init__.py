"""Converters from a simulated dataset (``agenttrail.simulate.simulate``) to other input formats."""
