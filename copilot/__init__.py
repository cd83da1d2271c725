"""Value Copilot: grounded resolutions and value-enhancing suggestions for support agents."""

__version__ = "0.1.0"
