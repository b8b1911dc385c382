"""The command line: ``sijreg``."""
