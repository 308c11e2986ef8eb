"""In place of the sections beyond the study, when the store holds no exhaustive masks for the run."""

from __future__ import annotations

from reports.sections import Section


def section(ctx) -> Section | None:
    if ctx.has_exhaustive:
        return None
    return Section("exact", "Beyond the study: exact answers from all masks",
                   "This store holds no exhaustive masks for this run (built with --no-exhaustive), so the exact "
                   "sections are left out.", nav="exact")
