"""The ``ferry`` command line."""

__all__: list[str] = []
