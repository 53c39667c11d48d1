"""Verification: commune officers check logged sessions (verify, send back, reject)."""
