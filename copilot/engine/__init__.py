"""The copilot engine: case in, grounded resolution and value suggestions out."""
