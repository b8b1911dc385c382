"""Persistence: the schema derived from the data dictionary, migrations, reads and writes."""
