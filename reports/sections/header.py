"""The page header: what the study is, the network, the label rule and settings, and the study's own
numbers beside this run's (study_comparison), with the run's full configuration."""

from __future__ import annotations

import json

from reports import dataset, fmt
from reports.sections import Section
from reports.tables import table
from reports.templating import render

RULES = {
    "code": "outside iff x0² + x1² > √(2/π) — the study's printed code, so the circle's radius is (2/π)^¼",
    "intent": "outside iff x0² + x1² > 2/π — the study's comment, a circle of radius √(2/π) holding half the square",
}
# How the study introduces itself (its opening line): its title and address did not survive with its
# text, so the page names it by its own words.
STUDY_OPENING = "This post is a long and graph heavy exploration of a tiny toy neural network."

QUERIES = {
    "comparison": "select * from study_comparison where run_id = $run order by position",
    "setup": "select * from study_setup where run_id = $run",
    "study_hidden": "select value::integer as hidden from study_reference where key = 'study_hidden'",
    "counts": """
        select
            (select count(*) from points where run_id = $run and split = 'test') as test_points,
            (select count(*) from points where run_id = $run and split = 'train') as train_points,
            (select avg(label) from points where run_id = $run and split = 'train') as train_outside,
            (select avg(label) from points where run_id = $run and split = 'test') as test_ones,
            (select count(*) from mask_samples where run_id = $run) as sampled_masks,
            (select count(distinct path_id) from flip_paths where run_id = $run) as flip_paths
    """,
}


def which_run(ctx) -> str:
    run_id, ids = ctx.run_id, ctx.wh.run_ids
    if len(ids) == 1:
        return f"This page shows run {run_id}, the store's only network."
    others = fmt.join(str(r) for r in ids if r != run_id)
    text = (f"This page shows run {run_id} (train seed {ctx.run.get('train_seed')}); the store also holds "
            f"runs {others} (python -m reports.build --run-id ID shows another).")
    if ctx.sweep_page:
        text += f" They are a sweep, compared on the sweep page, {ctx.sweep_page}."
    return text


# How each generated dataset's points and labels are drawn (ingest/datasets.py), for the facts.
DATA = {
    "xor": "xor, TensorFlow Playground's, scaled to [−1, 1]²: label 1 where x0·x1 ≥ 0 (first and third quadrants)",
    "gauss": "gauss, TensorFlow Playground's two Gaussian clouds, scaled: label 1 around (0.4, 0.4), label 0 "
             "around (−0.4, −0.4); no boundary line (the clouds overlap)",
    "spiral": "spiral, TensorFlow Playground's two interleaved spiral arms, scaled to [−1, 1]²: one arm each "
              "label; no boundary line",
    "csv": "your own points, read from CSV files; no boundary line",
}


LEDE = {"xor": "the xor pattern (label 1 where x0·x1 ≥ 0)", "gauss": "two Gaussian clouds",
        "spiral": "two interleaved spiral arms", "csv": "your own CSV files",
        "circle": "the study's circle (label 1 outside it)"}


def data_fact(ctx, counts: dict) -> tuple[str, str]:
    """The label rule (the circle), or what the data is and how its labels fall."""
    run = ctx.run
    if dataset.is_study(ctx):
        rule = str(run["label_rule"])
        return ("label rule", f"'{rule}': {RULES.get(rule, rule)}; radius {float(run['radius']):.4f}, "
                              f"{fmt.pct(counts['train_outside'])} of the training points outside")
    name = dataset.name(ctx)
    if not counts["train_points"]:  # --model without training points
        return ("data", f"{DATA.get(name, name)}; {fmt.pct(counts['test_ones'])} of the test points have label 1")
    return ("data", f"{DATA.get(name, name)}; {fmt.pct(counts['train_outside'])} of the training points and "
                    f"{fmt.pct(counts['test_ones'])} of the test points have label 1")


def test_fact(ctx, counts: dict, setup: dict) -> str:
    cfg, run = ctx.config, ctx.run
    if dataset.name(ctx) == "csv":
        return f"{counts['test_points']:,} points (file sha256 {str(run.get('test_data_sha256'))[:12]}…)"
    if not dataset.is_study(ctx):
        return f"{counts['test_points']:,} points (seed {cfg.get('test_seed')})"
    study_test = ", the study's" if setup.get("same_test_points") else ""
    return f"{counts['test_points']:,} points (numpy seed {cfg.get('test_seed')}{study_test})"


def outputs(ctx) -> str:
    """The output layer in words: a --model file may have had 1 sigmoid output (ingest/model_file.py)."""
    if ctx.run.get("output") == "sigmoid":
        return "1 sigmoid output (p(label 1) = σ(z), evaluated as softmax over the logits (0, z))"
    return "2 softmax outputs"


def network_fact(ctx) -> str:
    if len(ctx.layers) == 1 and ctx.activation == "relu":
        return f"2 inputs → {ctx.hidden} ReLU neurons, each × its mask entry on_i → {outputs(ctx)}"
    act = "ReLU" if ctx.activation == "relu" else ctx.activation
    layers = " → ".join(f"{size} {act} units (layer {i}{', masked' if i in ctx.masked_layers else ''})"
                        for i, size in enumerate(ctx.layers, start=1))
    return (f"2 inputs → {layers} → {outputs(ctx)}; each masked unit × its mask entry on_i, N = {ctx.hidden} "
            f"masked units, bits layer by layer, labelled L1·0, L1·1, … (layer·unit)")


def training_fact(ctx, counts: dict) -> tuple[str, str]:
    run, cfg = ctx.run, ctx.config
    if run.get("model_file"):  # --model: trained elsewhere
        data = (f"training points given: {fmt.integer(counts['train_points'])} (file sha256 "
                f"{str(run.get('train_data_sha256'))[:12]}…)" if counts["train_points"] else "training points unknown")
        return ("training", f"none here: the weights were loaded from {run['model_file']} (sha256 "
                            f"{str(run.get('model_sha256'))[:12]}…), trained elsewhere; {data}")
    points = (f"{fmt.integer(counts['train_points'])} points (file sha256 {str(run.get('train_data_sha256'))[:12]}…)"
              if dataset.name(ctx) == "csv" else f"{fmt.integer(cfg.get('train_points'))} points")
    return ("training", f"{points}, {cfg.get('epochs')} epochs, RMSprop, "
                        f"batch {cfg.get('batch_size')}, seed {run.get('train_seed')}")


def full_fact(ctx) -> str:
    run = ctx.run
    test = f"test loss {fmt.fixed(run['test_loss'], 4)} ({fmt.pct(run['test_accuracy'], 1)})"
    if run.get("train_loss") is None:  # a --model network without training points
        return test
    return f"train loss {fmt.fixed(run['train_loss'], 4)} ({fmt.pct(run['train_accuracy'], 1)}), {test}"


def facts(ctx, counts: dict, setup: dict) -> list[tuple[str, str]]:
    run, cfg = ctx.run, ctx.config
    return [
        ("network", network_fact(ctx)),
        data_fact(ctx, counts),
        training_fact(ctx, counts),
        ("full network", full_fact(ctx)),
        ("test set", test_fact(ctx, counts, setup)),
        ("sampled masks", f"{counts['sampled_masks']:,} (numpy seed {cfg.get('mask_seed')}); "
                          f"p = {', '.join(fmt.prob(p) for p in ctx.keep_probs)}"),
        ("flip paths", f"{counts['flip_paths']:,} (seed {cfg.get('path_seed')})"),
        ("density smoothing", f"Gaussian kernel, width {ctx.kernel_width:g} (the study's)"),
    ]


def comparison_caption(ctx, setup: dict, rows: int) -> str:
    """What the table compares, and what it cannot, in words (study_setup)."""
    sentences = []
    if setup.get("same_keep_probs") and setup.get("same_samples_per_prob"):
        if setup.get("same_test_points") and setup.get("same_mask_seed"):
            sentences.append(f"The same test points and the same {setup['study_masks']:,} sampled masks as the study "
                             f"(its numpy seeds), but a network trained afresh.")
        else:
            sentences.append(f"The study's keep probabilities and {setup['study_samples_per_prob']:,} masks per p, but "
                             f"a network trained afresh.")
    else:
        sentences.append("A network trained afresh, evaluated on other settings than the study's:")
        if not setup.get("same_keep_probs"):
            sentences.append(f"the study sampled masks at p = {fmt.probs(ctx.study_probs)} and this run at "
                             f"p = {fmt.probs(ctx.keep_probs)}, so a number the study gives at a keep probability is "
                             f"compared only where this run sampled that p too, and the study's sanity check only "
                             f"if it sampled all of the study's.")
        if not setup.get("same_samples_per_prob"):
            sentences.append(f"The study drew {setup['study_samples_per_prob']:,} masks per p and this run "
                             f"{ctx.config.get('samples_per_prob'):,}, so counts among the samples are not compared.")
    if setup.get("same_test_points") is False or setup.get("same_mask_seed") is False:
        sentences.append("This run's test points or masks come from other numpy seeds than the study's.")
    study_hidden = ctx.wh.frame(QUERIES["study_hidden"])
    study_hidden = int(study_hidden["hidden"][0]) if study_hidden.height else None
    if study_hidden is not None and ctx.hidden != study_hidden:
        sentences.append(f"This run's network has {ctx.hidden} hidden neurons and the study's {study_hidden}: the "
                         f"table shows where this network's numbers lie against the study's, not whether the "
                         f"study's network was reproduced, and counts among the sampled masks are of other masks.")
    else:
        sentences.append("Numbers close to the study's show the findings do not hang on one training run.")
    sentences.append("Node numbers are this run's own, so the study's node numbers name other neurons.")
    if not rows:
        sentences.append("No number of the study can be compared with this run.")
    return " ".join(sentences)


def comparison_table(frame):
    rows = [[r["quantity"], fmt.num(r["study"]), fmt.num(r["ours"]), r["note"] or ""]
            for r in frame.iter_rows(named=True)]
    return table(["quantity", "study", "this run", "note"], rows, table_id="study-vs-run", numeric={1, 2})


def config_table(ctx):
    rows = [[key, json.dumps(value)] for key, value in sorted(ctx.config.items())]
    return table(["setting", "value"], rows, table_id="config")


def units_words(ctx) -> str:
    """The hidden layers in the lede: the study's 'a layer of hidden ReLU neurons (20 here)'."""
    act = "ReLU" if ctx.activation == "relu" else ctx.activation
    if len(ctx.layers) == 1:
        return f"a layer of hidden {act} neurons ({ctx.hidden} here)"
    sizes = fmt.join(str(size) for size in ctx.layers)
    return f"{len(ctx.layers)} hidden layers of {act} units ({sizes}; {ctx.hidden} of them masked here)"


def section(ctx) -> Section:
    comparison = ctx.wh.run_frame(QUERIES["comparison"])
    setup = ctx.wh.run_row(QUERIES["setup"])
    counts = ctx.wh.run_row(QUERIES["counts"])
    # the study's setting: its circle and its network shape (one hidden layer of ReLUs)
    study = dataset.is_study_setting(ctx)
    body = render(
        "header.html.j2",
        units_words=units_words(ctx),
        # --model: the network was trained elsewhere, and the page must not say it was trained here
        made=(f"loads a network trained elsewhere ({ctx.run['model_file']})" if ctx.run.get("model_file")
              else "trains a network"),
        study=study,
        network=dataset.network(ctx),
        data_words=LEDE.get(dataset.name(ctx), dataset.name(ctx)),
        hidden=ctx.hidden,
        n_masks=f"{ctx.n_masks:,}",
        study_opening=STUDY_OPENING,
        which_run=which_run(ctx),
        facts=facts(ctx, counts, setup),
        # the study's numbers only in its own setting; elsewhere one line says they do not apply
        caption=comparison_caption(ctx, setup, comparison.height) if study else dataset.not_applicable(ctx),
        comparison=comparison_table(comparison) if comparison.height and study else "",
        config=config_table(ctx),
    )
    return Section("study-vs-run-title", "The study vs this run", body=body)
