"""winpod-guard test harness: a real OPA server, the policies, and the fixtures."""

__version__ = "0.1.0"
