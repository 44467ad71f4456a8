"""The composition root: CLI, configuration and wiring. No business logic lives here."""

__all__ = ["__version__"]

__version__ = "0.1.0"
