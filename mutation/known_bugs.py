"""`python -m mutation.known_bugs`: the eleven bugs a mutation audit once slipped past the tests, each
applied to a temporary copy of the repository and run against the tests that must now catch it.

Each bug is one textual change at the place its logic lives today. Prints killed / survived per bug
and the total; every one of them must be killed. Slow (a store is built per bug), so not part of CI.
"""
from __future__ import annotations

import sys

from mutation.common import Mutant, main as run_mutants

VIEW_TESTS = ("tests/test_views.py", "tests/test_exact_views.py", "tests/test_beyond_views.py")
PAGE_TESTS = ("tests/test_page_numbers.py::test_section_numbers_are_the_warehouse_numbers",)
BENCH_CONTEXT = '''"naive_threads": torch.get_num_threads(),
        "per_mask_masks": masks, "per_mask_seconds": round(p_wall, 4),
        "per_mask_masks_per_s": round(per_mask_rate, 1),
        "per_mask_extrapolated_seconds": round(total / per_mask_rate, 1),
        '''

BUGS = [
    Mutant("sql/views/node_split_stats.sql", "stddev_pop(grad) as std_grad", "stddev_samp(grad) as std_grad",
           "F6/F7 split: population → sample std", VIEW_TESTS),
    Mutant("sql/marts/exact_moments.sql",
           "sqrt(greatest(e_grad_log2_pooled / hidden - pow(e_grad_log_pooled / hidden, 2), 0))",
           "sqrt(greatest(e_grad_log2_pooled - pow(e_grad_log_pooled / hidden, 2), 0))",
           "exact std_grad_log loses its / hidden", VIEW_TESTS),
    Mutant("sql/views/flip_path_decay.sql", "e.corr as corr_from_end", "s.corr as corr_from_end",
           "F9's corr_from_end is the start's correlation", VIEW_TESTS),
    Mutant("reports/sections/f2.py", "from {fmt.fixed(low['mean_loss'])} at p", "from {fmt.fixed(high['mean_loss'])} at p",
           "F2 caption quotes the high p's loss for the low p", PAGE_TESTS),
    Mutant("reports/sections/f3.py", 'fmt.num(r["mean_loss"]), fmt.num(r["std_loss"]),',
           'fmt.num(r["std_loss"]), fmt.num(r["mean_loss"]),', "T1 mean and std columns swapped", PAGE_TESTS),
    Mutant("ingest/pipeline.py", "fp = fingerprint(stage.name, train_fps[run_id], values, *(part or ()))",
           "fp = fingerprint(stage.name, train_fps[run_id], *(part or ()))",
           "a stage's fingerprint ignores the config fields it reads",
           ("tests/test_trust.py::test_a_changed_field_reruns_exactly_the_units_that_depend_on_it",)),
    Mutant("ingest/ledger.py", 'if not path.is_file() or sha256(path) != meta["sha256"]:', "if not path.is_file():",
           "reuse skips the sha256 check", ("tests/test_trust.py",)),
    Mutant("ingest/verify.py", "check_files(store, manifest) + check_invariants(store, manifest) +",
           "check_files(store, manifest) +", "verify's invariant checks dropped", ("tests/test_trust.py",)),
    Mutant("ingest/pipeline.py", "    remove_stale(store, ledger)\n", "",
           "stale files never removed", ("tests/test_trust.py", "tests/test_store_ownership.py")),
    Mutant("ingest/paths.py", "start_bits = rng.random((n_paths, hidden)) < 0.5",
           "start_bits = rng.random((n_paths, hidden)) < 0.4", "flip path start coin 0.5 → 0.4",
           ("tests/test_power.py",)),
    # the one-layer benchmark's figures (the multi-layer one below it computes its own the same way)
    Mutant("ingest/bench.py", BENCH_CONTEXT + '"speedup_vs_naive": round(n_wall / k_wall, 2)',
           BENCH_CONTEXT + '"speedup_vs_naive": round(k_wall / n_wall, 2)',
           "benchmark's speedup_vs_naive inverted", ("tests/test_bench_figures.py",)),
]


def main(argv: list[str] | None = None) -> int:
    return run_mutants(BUGS, argv, "python -m mutation.known_bugs", __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
