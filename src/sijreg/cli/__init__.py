"""The command line: ``sijreg``.

A command is one short process that allocates and frees gigabytes at scale. Polars'
allocator (jemalloc) would hand freed pages back to the system within a second and
fault them in again at the next step; keeping them for the life of the command cuts
a million-patient report's system time by a third. Set before Polars loads; a value
the user exported wins.
"""

import os

os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:30000,muzzy_decay_ms:30000")
