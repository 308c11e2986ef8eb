"""The one exception type for errors a user can cause; the CLIs print it as one line, exit 2."""
import argparse


class UserError(Exception):
    """Bad config, bad flags, a missing or foreign store, impossible sizes."""


class StoreError(UserError):
    """A store that cannot be read as a complete one of this version (ingest/contract.py)."""


class Parser(argparse.ArgumentParser):
    """argparse for the commands: a flag mistake is a UserError (one line, exit 2), not argparse's
    usage text and exit."""

    def error(self, message):
        raise UserError(f"{message} (see --help)")
