"""`python -m mutation.handwritten`: hand-written mutants of sql/ and of the page's JavaScript
(reports/heatmap.js), which Python mutation tools cannot mutate, each run against the tests that
should catch it.

Each mutant is one textual change (a plausible single-line bug) to one file, applied to a temporary
copy of the repository (mutation/common.py; the working tree is never edited). Killed when the tests
fail. Prints one line per mutant and the score, killed / total, with the survivors. Slow (a test run
per mutant, a browser per page mutant), so not part of CI. `--only heatmap` runs the page mutants.
"""
from __future__ import annotations

import sys

from mutation.common import Mutant, main as run_mutants

VIEW_TESTS = ("tests/test_views.py", "tests/test_exact_views.py", "tests/test_beyond_views.py",
              "tests/test_warehouse_layers.py", "tests/test_report_views.py", "tests/test_transforms.py")
PAGE_TESTS = ("tests/test_report_browser.py",)


def sql(path: str, old: str, new: str, what: str) -> Mutant:
    return Mutant(path, old, new, what, VIEW_TESTS)


def page(old: str, new: str, what: str) -> Mutant:
    return Mutant("reports/heatmap.js", old, new, what, PAGE_TESTS)


MUTANTS = [
    sql("sql/views/node_split_stats.sql", "stddev_pop(grad) as std_grad", "stddev_samp(grad) as std_grad",
        "population → sample std in the F6/F7 split"),
    sql("sql/views/loss_stats.sql", "stddev_pop(s.log_loss)", "stddev_samp(s.log_loss)", "T1 std of log loss"),
    sql("sql/views/loss_stats.sql", "count(distinct s.mask)", "count(s.mask)", "distinct masks counted twice"),
    sql("sql/views/grad_stats.sql", "avg(grad_log) as mean_grad_log", "avg(grad) as mean_grad_log",
        "T2 mean of the wrong gradient"),
    sql("sql/marts/exact_moments.sql", "sqrt(greatest(e_grad_log2_pooled / hidden - pow(e_grad_log_pooled / hidden, 2), 0))",
        "sqrt(greatest(e_grad_log2_pooled - pow(e_grad_log_pooled / hidden, 2), 0))", "exact std_grad_log loses / hidden"),
    sql("sql/marts/exact_moments.sql", "pow(1 - p.keep_prob, h.hidden - b.n_on)", "pow(1 - p.keep_prob, h.hidden)",
        "mask weight p^k (1−p)^(N−k) loses its k"),
    sql("sql/views/flip_path_decay.sql", "e.corr as corr_from_end", "s.corr as corr_from_end",
        "F9's second curve a copy of the first"),
    sql("sql/views/flip_path_decay.sql", "e.j = h.hidden - s.j", "e.j = s.j", "end curve measured from the wrong step"),
    sql("sql/marts/flip_path_cov.sql", "covar_samp(log_loss_i, log_loss_j)", "covar_pop(log_loss_i, log_loss_j)",
        "path covariance population instead of sample"),
    sql("sql/marts/shapley_values.sql", "lgamma(h.hidden - s.n_on + 1)", "lgamma(h.hidden - s.n_on)",
        "Shapley weight off by one"),
    sql("sql/marts/banzhaf_values.sql", "pow(2, any_value(h.hidden) - 1)", "pow(2, any_value(h.hidden))",
        "Banzhaf normalised by 2^N"),
    sql("sql/marts/complement_pairs.sql", "sum(sxy) as sxy", "sum(sxx) as sxy", "complement co-moment uses x twice"),
    sql("sql/marts/flip_effects.sql", "n_misled / n_pairs as share_misled", "n_lower_tight / n_pairs as share_misled",
        "misled share reads the tight count"),
    sql("sql/marts/best_subnetworks.sql", "worst_loss,", "best_loss as worst_loss,", "worst loss is the best"),
    sql("sql/marts/exact_shape.sql", "q_loss / pow(nullif(v_loss, 0), 2) - 3 as kurt_loss",
        "q_loss / pow(nullif(v_loss, 0), 2) as kurt_loss", "kurtosis not excess"),
    sql("sql/marts/importance_scores.sql", "order by -knockout_effect)", "order by knockout_effect)",
        "knockout rank turned around"),
    sql("sql/views/sanity_check.sql", "is_highest", "is_lowest", "sanity check high p is the low p"),
    sql("sql/staging/keep_prob_roles.sql", "order by abs(keep_prob - 0.5), keep_prob", "order by abs(keep_prob - 0.5), keep_prob desc",
        "ties of 'nearest ½' go to the higher p"),
    sql("sql/staging/single_knockouts.sql", "xor(n.full_mask, 1::bigint << n.node)", "1::bigint << n.node",
        "only-off is only-on"),
    sql("sql/staging/node_directions.sql", "u.bias - abs(u.w0) - abs(u.w1) > 0", "u.bias - abs(u.w0) > 0",
        "bias-like ignores one input"),
    sql("sql/staging/mask_imbalance.sql", "/ nullif(list_sum(bits), 0)", "/ nullif(list_sum(bits) + 1, 0)",
        "imbalance divides by one more"),
    sql("sql/views/study_comparison.sql", "s.loss_difference, null", "-s.loss_difference, null",
        "study comparison difference sign"),
    sql("sql/marts/replication_summary.sql", "min(d.k) filter (where abs(d.corr_from_start) < 2 / sqrt(p.n_paths))",
        "max(d.k) filter (where abs(d.corr_from_start) < 2 / sqrt(p.n_paths))", "decay length the last, not the first k"),

    # the page's forward pass and live loss (F1)
    page("let z = bias;", "let z = 0;", "the output bias left out of the logit"),
    page("z += mask[i] * contrib[base + i];", "z += contrib[base + i];", "the mask ignored: every neuron always on"),
    page("const base = k * N;", "const base = k;", "contributions read with the wrong stride"),
    page("const p = 1 / (1 + Math.exp(-gridZ[k]));", "const p = 1 / (1 + Math.exp(gridZ[k]));",
         "p(inside) drawn as p(outside)"),
    page("loss += outside ? softplus(-z) : softplus(z);", "loss += outside ? softplus(z) : softplus(-z);",
         "cross-entropy of the wrong label"),
    page("(t > 0 ? t + Math.log1p(Math.exp(-t))", "(t > 0 ? Math.log1p(Math.exp(-t))", "softplus loses its t for t > 0"),
    page("return { loss: loss / nTest, accuracy", "return { loss: loss / (nTest - 1), accuracy",
         "mean loss over n − 1 points"),
    page("if ((z > 0) === outside) correct++;", "if ((z < 0) === outside) correct++;", "accuracy counts the wrong side"),
    page("const o = 4 * ((G - 1 - j) * G + i);", "const o = 4 * (j * G + i);", "map drawn upside down"),
    page("const t = (1 - k / 255) * (stops.length - 1)", "const t = (k / 255) * (stops.length - 1)",
         "colour scale turned around"),
    page("mask[Number(box.dataset.node)] = box.checked ? 1 : 0;", "mask[Number(box.dataset.node)] = box.checked ? 0 : 1;",
         "a checkbox switches its neuron the wrong way"),
    page("if (mask[i]) { on++; maskInt |= 1n << BigInt(i); } else off.push(i);",
         "if (mask[i]) { on++; maskInt |= 1n << BigInt(i); } else off.push(i + 1);", "neurons off named from 1"),
    page("boxes.forEach((box) => { box.checked = value === 1; mask[Number(box.dataset.node)] = value; });",
         "boxes.forEach((box) => { box.checked = value === 1; });", "'switch all off' leaves the mask on"),
    page("pOutside[j * G + i].toFixed(3)", "pOutside[i * G + j].toFixed(3)", "pointer readout transposed"),
    page("const i = Math.round((x - payload.extent[0]) / (2 * half))", "const i = Math.floor((x - payload.extent[0]) / (2 * half))",
         "pointer readout picks the cell to the left"),
]


def main(argv: list[str] | None = None) -> int:
    return run_mutants(MUTANTS, argv, "python -m mutation.handwritten", __doc__.splitlines()[0])


if __name__ == "__main__":
    sys.exit(main())
