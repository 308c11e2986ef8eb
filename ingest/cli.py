"""Command-line flags for `python -m ingest.run`: one per config field, plus where to write.

A flag's help is its Config field's text (ingest/config.py) and the stages that read it (their
declarations in ingest/stages.py); nothing here is a second list to keep in step."""
from __future__ import annotations

import argparse
import textwrap
from dataclasses import fields
from pathlib import Path

from ingest import config as cfg
from ingest import data, stages
from ingest.errors import Parser, UserError



def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def field_help(f, readers: list[str]) -> str:
    """A field's help: its text from Config, its default, and which stages read it, directly or
    through a stage whose files they read (their declarations in ingest/stages.py), or what it
    changes instead."""
    default = f.default
    shown = (",".join(str(v) for v in default) or "empty") if isinstance(default, tuple) else default
    if readers:
        return f"{f.metadata['help']} (default: {shown}; read by: {', '.join(readers)})"
    return f"{f.metadata['help']} (default: {shown}; changes only {f.metadata['changes_only']})"


def stages_epilog() -> str:
    lines = textwrap.wrap("A rerun on the same store reuses each finished stage of a network unless a flag "
                          "it reads changed, or the network was retrained. The stages and the flags they "
                          "read:", 100)
    for stage in stages.STAGES.values():
        text = " ".join(flag(name) for name in stage.reads)
        if stage.uses:
            text += ", and what " + " and ".join(stage.uses) + " wrote"
        lines += textwrap.wrap(text, 100, initial_indent=f"  {stage.name:<11} ", subsequent_indent=" " * 14,
                               break_on_hyphens=False)
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m ingest.run", allow_abbrev=False, epilog=stages_epilog(),
                formatter_class=argparse.RawDescriptionHelpFormatter,
                description="Train the study's network, evaluate masks, write the store and the warehouse.")
    p.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="TOML file of config fields (overrides the defaults; flags override it)")
    p.add_argument("--sweep", type=Path, metavar="FILE.toml",
                   help="a config file plus a [sweep] table of lists: one network per combination, all in one "
                        "store (see store/README.md); flags override its fields outside [sweep]")
    p.add_argument("--store", default="store", metavar="DIR",
                   help="store folder: a new or empty folder, or a Knockout store (default: store)")
    p.add_argument("--report", default="reports/index.html", metavar="PATH",
                   help="where to write the report page, outside the store (default: reports/index.html)")
    p.add_argument("--no-report", action="store_true", help="do not write the report page")
    p.add_argument("--train-seed", dest="train_seed", default=None, metavar="SEED",
                   help="train a single network with this seed (same as --train-seeds SEED)")
    for f in fields(cfg.Config):
        text = field_help(f, [s.name for s in stages.STAGES.values() if s.depends_on(f.name)])
        if cfg.field_kind(f.name) == "bool":
            p.add_argument(flag(f.name), dest=f.name, action=argparse.BooleanOptionalAction, default=None,
                           help=text)
        else:
            p.add_argument(flag(f.name), dest=f.name, default=None, metavar=f.name.upper(), help=text)
    return p


def parse(argv: list[str] | None = None) -> tuple[cfg.Config, argparse.Namespace]:
    """The config (defaults, then the TOML file, then flags) and the other arguments.

    Every TOML value is type-checked, also one a flag then overrides: a broken file is reported
    whatever the command line says."""
    args = parser().parse_args(argv)
    if args.store == "":
        raise UserError("--store is empty: name a folder (a new, an empty, or a Knockout store)")
    if args.report == "":
        raise UserError("--report is empty: name a file, or pass --no-report")
    args.store, args.report = Path(args.store), Path(args.report)
    if args.sweep is not None and args.config is not None:
        raise UserError("give --config or --sweep, not both: a sweep file is a config file plus [sweep]")
    table = cfg.read_toml(args.config) if args.config else {}
    if "sweep" in table:
        raise UserError(f"{cfg.shown(str(args.config))} has a [sweep] table: run it with --sweep, not --config")
    values = cfg.from_toml(table, cfg.shown(str(args.config))) if args.config else {}
    if args.train_seed is not None:
        if args.train_seeds is not None:
            raise UserError("give --train-seed or --train-seeds, not both")
        values["train_seeds"] = (cfg.coerce("train_seed", args.train_seed, "int", from_text=True),)
    for name in cfg.field_names():
        value = getattr(args, name)
        if value is not None:
            kind = cfg.field_kind(name)
            values[name] = value if kind == "bool" else cfg.coerce(name, value, kind, from_text=True)
    explicit = set(values)
    if args.sweep is not None:
        if values.get("model"):
            raise UserError("--model loads one network and a sweep trains its own: give one of them")
        from ingest import sweep
        args.plan = sweep.read(args.sweep, values)
        return args.plan.config, args
    if values.get("model"):
        values = model_values(values)
    # the data is read and checked here, before the store is looked at (ingest/data.py)
    config = data.resolve(cfg.build(values), explicit)
    from ingest import plan
    args.plan = plan.plain(config)
    return config, args


def model_values(values: dict) -> dict:
    """The values of a --model run: the file read and checked (one line if it is not a network
    Knockout can load), its hidden layers as `hidden`, the CSV dataset and one network (run 0).
    A flag that would change what the file fixes, or that only training reads, is refused."""
    from ingest import model_file
    if not values.get("test_data"):
        cfg.validate_model(cfg.Config(model=values["model"]))  # the one line for a missing --test-data
    given = [name for name in cfg.NOT_WITH_MODEL if name in values]
    if given:
        raise UserError(f"{flag(given[0])} does not apply to --model: the network is loaded from the file, "
                        "not trained")
    model = model_file.read(values["model"])
    values = {"dataset": "csv", **values, "train_seeds": (0,)}
    if "hidden" in values:
        asked = values["hidden"] if isinstance(values["hidden"], tuple) else (values["hidden"],)
        if asked != model.sizes:
            raise UserError(f"--hidden {','.join(map(str, asked))} disagrees with {values['model']}, whose hidden "
                            f"layers are {','.join(map(str, model.sizes))}: leave --hidden out (the file fixes it)")
    values["hidden"] = model.sizes[0] if len(model.sizes) == 1 else model.sizes
    return values
