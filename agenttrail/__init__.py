"""agenttrail: find SSH agent hijacking (T1563.001) in endpoint, flow and login telemetry."""

__version__ = "0.1.0"
