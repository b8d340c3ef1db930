"""Data structures and their elementary operations (the bottom of mmssd's imports: they
depend on numpy and torch only)."""
