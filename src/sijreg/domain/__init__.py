"""The pure core: the data dictionary, value types and records. No I/O lives here."""
