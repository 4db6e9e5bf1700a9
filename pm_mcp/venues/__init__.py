"""Venue adapters (I/O): one per venue behind one protocol."""
