"""The report's one exception type: a problem the user can fix, printed by the CLI as one line (exit 2)."""


class ReportError(Exception):
    """No store, an unfinished or foreign store, no warehouse, an unknown run, a warehouse without a view."""
