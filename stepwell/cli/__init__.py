"""The ``stepwell`` command line (Typer + Rich)."""
