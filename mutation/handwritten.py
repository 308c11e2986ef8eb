"""`python -m mutation.handwritten`: hand-written mutants of sql/, which Python mutation tools
cannot mutate, each run against the tests that should catch it.

Each mutant is one textual change (a plausible single-line bug) to one file. For each: apply it,
run its tests (`pytest -x -q`), restore the file, and count it killed when the tests fail. Prints
one line per mutant and the score, killed / total, with the survivors. Slow (a test run per mutant)
and it edits the working tree while it runs, so it is not part of CI; run it on a clean checkout.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VIEW_TESTS = ["tests/test_views.py", "tests/test_exact_views.py", "tests/test_beyond_views.py",
              "tests/test_warehouse_layers.py", "tests/test_report_views.py", "tests/test_transforms.py"]


@dataclass(frozen=True)
class Mutant:
    path: str
    old: str
    new: str
    what: str
    tests: tuple[str, ...] = tuple(VIEW_TESTS)


MUTANTS = [
    Mutant("sql/views/node_split_stats.sql", "stddev_pop(grad) as std_grad", "stddev_samp(grad) as std_grad",
           "population → sample std in the F6/F7 split"),
    Mutant("sql/views/loss_stats.sql", "stddev_pop(s.log_loss)", "stddev_samp(s.log_loss)", "T1 std of log loss"),
    Mutant("sql/views/loss_stats.sql", "count(distinct s.mask)", "count(s.mask)", "distinct masks counted twice"),
    Mutant("sql/views/grad_stats.sql", "avg(grad_log) as mean_grad_log", "avg(grad) as mean_grad_log",
           "T2 mean of the wrong gradient"),
    Mutant("sql/marts/exact_moments.sql", "sqrt(greatest(e_grad_log2_pooled / hidden - pow(e_grad_log_pooled / hidden, 2), 0))",
           "sqrt(greatest(e_grad_log2_pooled - pow(e_grad_log_pooled / hidden, 2), 0))", "exact std_grad_log loses / hidden"),
    Mutant("sql/marts/exact_moments.sql", "pow(1 - p.keep_prob, h.hidden - b.n_on)", "pow(1 - p.keep_prob, h.hidden)",
           "mask weight p^k (1−p)^(N−k) loses its k"),
    Mutant("sql/views/flip_path_decay.sql", "e.corr as corr_from_end", "s.corr as corr_from_end",
           "F9's second curve a copy of the first"),
    Mutant("sql/views/flip_path_decay.sql", "e.j = h.hidden - s.j", "e.j = s.j", "end curve measured from the wrong step"),
    Mutant("sql/marts/flip_path_cov.sql", "covar_samp(log_loss_i, log_loss_j)", "covar_pop(log_loss_i, log_loss_j)",
           "path covariance population instead of sample"),
    Mutant("sql/marts/shapley_values.sql", "lgamma(h.hidden - s.n_on + 1)", "lgamma(h.hidden - s.n_on)",
           "Shapley weight off by one"),
    Mutant("sql/marts/banzhaf_values.sql", "pow(2, any_value(h.hidden) - 1)", "pow(2, any_value(h.hidden))",
           "Banzhaf normalised by 2^N"),
    Mutant("sql/marts/complement_pairs.sql", "sum(sxy) as sxy", "sum(sxx) as sxy", "complement co-moment uses x twice"),
    Mutant("sql/marts/flip_effects.sql", "n_misled / n_pairs as share_misled", "n_lower_tight / n_pairs as share_misled",
           "misled share reads the tight count"),
    Mutant("sql/marts/best_subnetworks.sql", "worst_loss,", "best_loss as worst_loss,", "worst loss is the best"),
    Mutant("sql/marts/exact_shape.sql", "q_loss / pow(nullif(v_loss, 0), 2) - 3 as kurt_loss",
           "q_loss / pow(nullif(v_loss, 0), 2) as kurt_loss", "kurtosis not excess"),
    Mutant("sql/marts/importance_scores.sql", "order by -knockout_effect)", "order by knockout_effect)",
           "knockout rank turned around"),
    Mutant("sql/views/sanity_check.sql", "is_highest", "is_lowest", "sanity check high p is the low p"),
    Mutant("sql/staging/keep_prob_roles.sql", "order by abs(keep_prob - 0.5), keep_prob", "order by abs(keep_prob - 0.5), keep_prob desc",
           "ties of 'nearest ½' go to the higher p"),
    Mutant("sql/staging/single_knockouts.sql", "xor(n.full_mask, 1::bigint << n.node)", "1::bigint << n.node",
           "only-off is only-on"),
    Mutant("sql/staging/node_directions.sql", "u.bias - abs(u.w0) - abs(u.w1) > 0", "u.bias - abs(u.w0) > 0",
           "bias-like ignores one input"),
    Mutant("sql/staging/mask_imbalance.sql", "/ nullif(list_sum(bits), 0)", "/ nullif(list_sum(bits) + 1, 0)",
           "imbalance divides by one more"),
    Mutant("sql/views/study_comparison.sql", "s.loss_difference, null", "-s.loss_difference, null",
           "study comparison difference sign"),
    Mutant("sql/marts/replication_summary.sql", "min(d.k) filter (where abs(d.corr_from_start) < 2 / sqrt(p.n_paths))",
           "max(d.k) filter (where abs(d.corr_from_start) < 2 / sqrt(p.n_paths))", "decay length the last, not the first k"),
]


def run(mutant: Mutant) -> tuple[bool, float]:
    path = ROOT / mutant.path
    original = path.read_text(encoding="utf-8")
    if original.count(mutant.old) != 1:
        raise SystemExit(f"{mutant.path}: the text to mutate occurs {original.count(mutant.old)} times: {mutant.old!r}")
    start = time.perf_counter()
    try:
        path.write_text(original.replace(mutant.old, mutant.new), encoding="utf-8")
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *mutant.tests],
                              cwd=ROOT, capture_output=True, text=True)
    finally:
        path.write_text(original, encoding="utf-8")
    return proc.returncode != 0, time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mutation.handwritten", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=None, help="run the mutants whose file contains this text")
    args = parser.parse_args(argv)
    chosen = [m for m in MUTANTS if args.only is None or args.only in m.path]
    survivors = []
    for i, mutant in enumerate(chosen, 1):
        killed, seconds = run(mutant)
        print(f"[{i}/{len(chosen)}] {'killed  ' if killed else 'SURVIVED'} {seconds:5.1f} s  {mutant.path}: {mutant.what}",
              flush=True)
        if not killed:
            survivors.append(mutant)
    killed = len(chosen) - len(survivors)
    print(f"score: {killed}/{len(chosen)} killed ({100 * killed / max(len(chosen), 1):.0f}%)")
    for mutant in survivors:
        print(f"survivor: {mutant.path}: {mutant.what} ({mutant.old!r} → {mutant.new!r})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
