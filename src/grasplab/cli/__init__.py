"""Command-line interface: the ``grasplab`` console script."""
