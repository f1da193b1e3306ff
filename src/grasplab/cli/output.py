"""The one console of the ``grasplab`` command and its error line.

Messages are printed with ``soft_wrap``: a message is one line whatever the terminal width, so
an error that names a long path stays one line that a user (or a script) can read and grep.
"""

from __future__ import annotations

import typer
from rich.console import Console

console = Console(soft_wrap=True)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``error: <message>`` as one line and return the exit to raise.

    Args:
        message: what is wrong, naming the option or file.
        code: the exit code (2: bad input, 1: the work failed).

    Returns:
        ``typer.Exit(code)``, for ``raise fail(...)``.
    """
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=code)
