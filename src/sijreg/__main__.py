"""``python -m sijreg``."""

from sijreg.cli.app import main

main()
