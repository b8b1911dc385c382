"""sijreg: an outcomes registry for sacroiliac-joint fusion."""

from __future__ import annotations

from functools import cache


def __getattr__(name: str) -> str:
    """``__version__``, read from the installed package's metadata when first asked for.

    Reading it at import would cost every command (``sijreg --help`` too) the import of
    importlib.metadata and a scan of the environment's packages.
    """
    if name == "__version__":
        return _version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@cache
def _version() -> str:
    from importlib.metadata import version

    return version("sijreg")
