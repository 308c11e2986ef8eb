"""Figure captions written from this run's numbers: what each figure shows and what to notice."""

from __future__ import annotations

import numpy as np
import polars as pl

from reports.data import ReportData
from reports.density import density_grid, gaussian_density
from reports.figures_densities import half_prob
from reports.figures_maps import grad_scale_limit
from reports.figures_paths import first_insignificant_step, noise_level


def _moments(values: np.ndarray) -> tuple[float, float]:
    """Sample skewness and excess kurtosis (both 0 for a normal distribution)."""
    centred = values - values.mean()
    sd = centred.std()
    return float((centred**3).mean() / sd**3), float((centred**4).mean() / sd**4 - 3)


def _per_p(frame: pl.DataFrame, value: str, data: ReportData, stat) -> list[str]:
    out = []
    for p in data.keep_probs:
        out.append(f"{stat(frame.filter(pl.col('keep_prob') == p)[value].to_numpy().astype(np.float64)):+.2f}")
    return out


def _join(items: list[str]) -> str:
    return ", ".join(items[:-1]) + " and " + items[-1] if len(items) > 1 else "".join(items)


def _p_list(data: ReportData) -> str:
    return _join([f"{p:g}" for p in data.keep_probs])


def _loss_at(data: ReportData, p: float, column: str = "mean_loss") -> float:
    return float(data.loss_stats.filter(pl.col("keep_prob") == p)[column][0])


def f1(data: ReportData) -> str:
    return (
        f"Colour is the network's probability that a point is outside the circle (label 1), over the square "
        f"[{data.grid['x0'].min():g}, {data.grid['x0'].max():g}]², wider than the training square (dotted); "
        f"the dashed circle is the label boundary, radius {float(data.run['radius']):.3f} "
        f"(rule '{data.run['label_rule']}'). Switch neurons off to see the map and the test loss change at once: "
        f"with all {data.hidden} on the loss is {float(data.run['test_loss']):.4f} and the accuracy "
        f"{100 * float(data.run['test_accuracy']):.1f}%."
    )


def f2(data: ReportData, width: float) -> str:
    lo, hi = min(data.keep_probs), max(data.keep_probs)
    skews = _per_p(data.samples, "loss", data, lambda v: _moments(v)[0])
    n = int(data.loss_stats["n"][0])
    return (
        f"Density of the test loss over the {n} masks sampled at each keep probability p (Gaussian kernel of "
        f"width {width:g}); the grey rule is the full network's loss, {float(data.run['test_loss']):.3f}. "
        f"Fewer neurons mean more loss: the mean falls from {_loss_at(data, lo):.3f} at p = {lo:g} to "
        f"{_loss_at(data, hi):.3f} at p = {hi:g}, and {int(data.loss_stats['all_on_count'][-1])} of the "
        f"p = {hi:g} masks keep every neuron. Skewness {_join(skews)} (for p = {_p_list(data)}): "
        f"{'a long right tail, as the study saw' if all(float(s) > 0 for s in skews) else 'not uniformly right-skewed'}."
    )


def f3(data: ReportData) -> str:
    skews = _per_p(data.samples, "log_loss", data, lambda v: _moments(v)[0])
    raw = _per_p(data.samples, "loss", data, lambda v: _moments(v)[0])
    return (
        f"Density of ln(loss) at each p, with the best-fit normal curve dotted (its mean and standard deviation "
        f"are table T1). If the loss were log-normal each curve would be a bell: the skewness of ln(loss) is "
        f"{_join(skews)}, against {_join(raw)} for the loss itself (0 for a normal)."
    )


def f4(data: ReportData) -> str:
    kurt = _per_p(data.node_grads, "grad", data, lambda v: _moments(v)[1])
    if all(float(k) > 0 for k in kurt):
        shape = "more peaked and heavier-tailed than a bell curve, as the study found"
    elif all(float(k) < 0 for k in kurt):
        shape = "flatter and lighter-tailed than a bell curve, unlike the study's peaked, heavy-tailed curves"
    else:
        shape = "heavier-tailed than a bell curve at some p and lighter at others"
    s = data.sanity
    check = ""
    if s and s.get("scaled_mean_grad") is not None:
        check = (
            f" Sanity check: {s['scale']:g} × the mean gradient at p = ½ is {s['scaled_mean_grad']:.4f}, "
            f"the mean loss at p = {max(data.keep_probs):g} minus at p = {min(data.keep_probs):g} is "
            f"{s['loss_difference']:.4f} (ratio {s['ratio']:.2f})."
        )
    return (
        f"Density of ∂loss/∂on_i, pooled over the sampled masks and all {data.hidden} nodes, with dotted normal "
        f"fits (table T2). Excess kurtosis {_join(kurt)} for p = {_p_list(data)}: "
        f"{shape}."
        + check
    )


def _trough_at_zero(values: np.ndarray, width: float) -> tuple[float, float, float]:
    grid = density_grid(values, width)
    dens = gaussian_density(values, width, grid)
    at_zero = float(np.interp(0.0, grid, dens))
    return at_zero, float(dens[grid < 0].max(initial=0)), float(dens[grid > 0].max(initial=0))


def f5(data: ReportData, width: float) -> str:
    parts, troughs = [], 0
    for p in data.keep_probs:
        values = data.node_grads.filter(pl.col("keep_prob") == p)["grad_log"].to_numpy().astype(np.float64)
        zero, left, right = _trough_at_zero(values, width)
        troughs += zero < min(left, right)
        parts.append(f"{zero:.2f} (peaks {left:.2f} and {right:.2f})")
    verdict = (
        "a trough at 0 at every p, as in the study" if troughs == len(data.keep_probs)
        else f"a trough at 0 for {troughs} of the {len(data.keep_probs)} keep probabilities"
    )
    return (
        f"Density of ∂ln(loss)/∂on_i = (∂loss/∂on_i)/loss, pooled over masks and nodes; the dashed rule marks 0. "
        f"The density at 0 is {_join(parts)} for p = {_p_list(data)}: {verdict}."
    )


def f6(data: ReportData) -> str:
    p = half_prob(data)
    at = data.node_grads.filter(pl.col("keep_prob") == p)
    off = at.filter(pl.col("node_on") == 0)["grad_log"]
    on = at.filter(pl.col("node_on") == 1)["grad_log"]
    return (
        f"At p = {p:g}, ∂ln(loss)/∂on_i split by whether node i is off (0: would the network gain from 1% of it?) "
        f"or on (1: from 101%?). Mean {off.mean():+.3f} when off and {on.mean():+.3f} when on; the gradient is "
        f"negative, so more of the node would help, in {100 * (off < 0).mean():.0f}% of the off cases and "
        f"{100 * (on < 0).mean():.0f}% of the on cases."
    )


def f7(data: ReportData) -> str:
    p = half_prob(data)
    spread = (
        data.node_grads.filter(pl.col("keep_prob") == p)
        .group_by("node").agg(pl.col("grad_log").std().alias("sd")).sort("sd")
    )
    calm, wild = spread.row(0, named=True), spread.row(-1, named=True)
    return (
        f"F6 for each neuron separately (p = {p:g}), each panel with its own axes, so read the axes before "
        f"comparing shapes: node {wild['node']} has the widest spread of ∂ln(loss)/∂on_i (standard deviation "
        f"{wild['sd']:.3f}), node {calm['node']} the narrowest ({calm['sd']:.3f}). The kernel width is the same "
        f"in every panel, so a narrow neuron's curve looks smoother than a wide one's."
    )


def f8(data: ReportData) -> str:
    n = data.hidden
    cov = data.flip_cov
    var = cov.filter(pl.col("i") == pl.col("j"))["cov"].mean()
    corner = cov.filter((pl.col("i") == 0) & (pl.col("j") == n))
    corner_text = f"{float(corner['cov'][0]):.3f}" if len(corner) else "n/a"
    return (
        f"Covariance of log loss between steps i and j of {data.n_paths} flip paths: each starts at a random mask "
        f"(every node on with probability ½), flips the {n} nodes once each in random order, and ends at the "
        f"complement. The diagonal is the variance (mean {var:.3f}); covariance fades away from it, but the "
        f"corners (a mask against its complement) keep {corner_text}."
    )


def f9(data: ReportData) -> str:
    d = data.flip_decay
    n = data.hidden
    gap = float((d["cov_from_start"] - d["cov_from_end"]).abs().max())
    level = noise_level(data.n_paths)
    k = first_insignificant_step(data)
    end = d.filter(pl.col("k") == n)
    corr_end = float(end["corr_from_start"][0]) if len(end) else float("nan")
    decay = (
        f"the correlation first falls within noise (|r| < 2/√{data.n_paths} = {level:.3f}) after {k} flips"
        if k is not None else f"the correlation never falls within noise (|r| < {level:.3f})"
    )
    return (
        f"Covariance of log loss at the start with log loss k flips on (turquoise), and at the end with k flips "
        f"back (pink); path reversal makes them equal in distribution, and they differ by at most {gap:.3f}. "
        f"From the start {decay}; at k = {n} the mask meets its complement with correlation {corr_end:+.3f}"
        f"{' — a good pruned network tends to have a good complement' if corr_end > level else ''}."
    )


def _training_square(data: ReportData) -> np.ndarray:
    return ((data.grid["x0"].abs() <= 1) & (data.grid["x1"].abs() <= 1)).to_numpy()


def f10(data: ReportData) -> str:
    inside = _training_square(data)
    active = (data.grid_contrib[inside] != 0).mean(axis=0)
    biases = [str(i) for i in np.flatnonzero(active > 0.999)]
    bias_text = (
        f"Nodes {_join(biases)} are active over the whole training square and act as biases (one colour "
        f"inside the circle, the other just outside it); the rest are zero on part of the square and slice an "
        f"edge off it." if biases else "No node is active over the whole training square; each slices off part of it."
    )
    side = data.node_grad_maps["grid_i"].n_unique()
    sampling = f" Drawn on a {side}×{side} subsample of the {data.grid_size}×{data.grid_size} grid." if side < data.grid_size else ""
    return (
        f"For each node i of the full network, ∂(pointwise loss)/∂on_i over the plane: blue where more of node i "
        f"lowers the loss at that point, orange where it raises it; one colour scale for all panels, centred at 0 "
        f"and clipped at ±{grad_scale_limit(data):.2g} (99th percentile of |value|). {bias_text}{sampling}"
    )


def f11(data: ReportData) -> str:
    inside = _training_square(data)
    grid = data.grid.filter(pl.Series(inside))
    radius = float(data.run["radius"])
    r = np.hypot(grid["x0"].to_numpy(), grid["x1"].to_numpy())
    loss = grid["loss"].to_numpy().astype(np.float64)
    band = np.abs(r - radius) < 0.2
    share = 100 * loss[band].sum() / loss.sum() if loss.sum() > 0 else float("nan")
    return (
        f"Loss of the full network at each point of the plane (the dashed line is the label circle). Inside the "
        f"training square, {share:.0f}% of the summed pointwise loss lies within 0.2 of the circle, a band covering "
        f"{100 * band.mean():.0f}% of the square: the network is unsure only near the boundary."
    )


def knockouts(data: ReportData) -> str:
    k = data.knockouts.drop_nulls("loss_only_off").sort("loss_only_off")
    if k.is_empty():
        return "No single-knockout losses are stored for this run."
    least, most = k.row(0, named=True), k.row(-1, named=True)
    hurt = int((k["knockout_effect"] > 0).sum())
    all_off = k["loss_all_off"][0]
    return (
        f"Test loss with only this node switched off (all others on), and with only this node on (all others off; "
        f"with every node off the loss is {all_off:.4f}). Switching one node off raises the loss for {hurt} of the "
        f"{len(k)} nodes: most for node {most['node']} ({most['knockout_effect']:+.4f}), least for node "
        f"{least['node']} ({least['knockout_effect']:+.4f}). Click a column heading to sort."
    )
