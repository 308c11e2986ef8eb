"""What the page says about the run's data and network: the dataset, its true boundary (or none),
and whether the run is in the study's own setting, where the study's numbers and sentences apply."""

from __future__ import annotations

STUDY_DATASET = "circle"
NAMES = {"circle": "the circle", "xor": "xor", "gauss": "two Gaussian clouds", "spiral": "two spirals",
         "csv": "your CSV points"}


def name(ctx) -> str:
    """The run's dataset (a store from before datasets holds the study's circle)."""
    return str(ctx.run.get("dataset") or STUDY_DATASET)


def is_study(ctx) -> bool:
    """The study's own setting: its circle. Elsewhere the study's comparison does not apply."""
    return name(ctx) == STUDY_DATASET


def is_study_setting(ctx) -> bool:
    """The study's circle and its network's shape (one hidden layer of ReLUs): where the study's own
    numbers are compared with the run's."""
    return is_study(ctx) and ctx.one_layer


def network(ctx) -> str:
    """E.g. '2→12→2 ReLU on xor', '2→10→10→2 tanh on two spirals'."""
    masked = "" if len(ctx.layers) == 1 or len(ctx.masked_layers) == len(ctx.layers) else \
        f" (masks on layer{'s' if len(ctx.masked_layers) > 1 else ''} {', '.join(map(str, ctx.masked_layers))})"
    act = "ReLU" if ctx.activation == "relu" else ctx.activation
    if ctx.run.get("output") == "sigmoid":  # a --model file with 1 sigmoid output
        return f"2→{'→'.join(map(str, ctx.layers))}→1 {act}, sigmoid output{masked} on {name(ctx)}"
    return f"2→{'→'.join(map(str, ctx.layers))}→2 {act}{masked} on {name(ctx)}"


def boundary(ctx) -> dict | None:
    """{"kind": "circle", "radius": r}, {"kind": "axes"}, or None where the data has no boundary line."""
    if is_study(ctx) and ctx.run.get("boundary") is None:  # a store from before datasets
        return {"kind": "circle", "radius": float(ctx.run["radius"])}
    kind = ctx.run.get("boundary")
    if kind == "circle":
        return {"kind": "circle", "radius": float(ctx.run["radius"])}
    if kind == "axes":
        return {"kind": "axes"}
    return None


def label_one(ctx) -> str:
    """What label 1 means, for 'the network's probability that a point is …'."""
    kind = (boundary(ctx) or {}).get("kind")
    if kind == "circle":
        return "outside the circle (label 1)"
    if kind == "axes":
        return "of label 1 (x0 and x1 of the same sign)"
    return "of label 1"


def p_title(ctx) -> str:
    """The colour legend of the probability maps."""
    return "p(outside)" if is_study(ctx) else "p(label 1)"


def overlay_words(ctx, line: str = "dashed") -> str:
    """What the maps draw over the colours: the true boundary, or the labelled test points."""
    b = boundary(ctx)
    if b is None:
        return (f"{NAMES.get(name(ctx), name(ctx))} have no boundary line to draw, so the dots are the test points: "
                f"black label 1, white label 0")
    if b["kind"] == "circle":
        rule = ctx.run.get("label_rule")
        return (f"the {line} circle is the label boundary, radius {b['radius']:.3f}"
                + (f" (rule '{rule}')" if rule else ""))
    return f"the {line} lines, the two axes, are the label boundary (label 1 where x0·x1 ≥ 0)"


def boundary_noun(ctx) -> str:
    kind = (boundary(ctx) or {}).get("kind")
    return {"circle": "the circle", "axes": "the axes"}.get(kind, "")


def not_applicable(ctx) -> str:
    if is_study(ctx):  # the circle, but another network
        return (f"The study's numbers do not apply to this run: the study trained one hidden layer of ReLUs, this "
                f"run {network(ctx)}, so no number is compared with the study's.")
    return (f"The study's numbers do not apply to this run: the study trained on its circle, this run on "
            f"{NAMES.get(name(ctx), name(ctx))}, so no number is compared with the study's.")
