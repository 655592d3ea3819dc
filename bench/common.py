"""Small shared pieces that import nothing from Django."""

from collections.abc import Callable

Log = Callable[[str], None]
