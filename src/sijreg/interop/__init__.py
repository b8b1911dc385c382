"""Doors for data in and out of the registry: study sheets and (later) exports."""
