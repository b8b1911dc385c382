"""sijreg: an outcomes registry for sacroiliac-joint fusion."""

from importlib.metadata import version

__version__ = version("sijreg")
