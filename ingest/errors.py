"""The one exception type for errors a user can cause; the CLIs print it as one line, exit 2."""


class UserError(Exception):
    """Bad config, bad flags, a missing or foreign store, impossible sizes."""


class StoreError(UserError):
    """A store that cannot be read as a complete one of this version (ingest/contract.py)."""
