"""The store contract, defined once for the code that writes a store and the code that reads it.

ingest writes manifest.json last, with status "complete", STORE_VERSION and the store's id
(ingest/ledger.py); readers open a store only through `check_complete_store`, and the warehouse only
after `check_warehouse`. No heavy import at module level: the CLI reads this before torch loads.
"""
from __future__ import annotations

import json
from pathlib import Path

from ingest.errors import StoreError

# The layout and columns of the store (store/README.md); readers refuse any other.
# 2: the summary_* tables, and mask_exhaustive linked rather than copied into the warehouse;
# 3: store ids, runs.train_config, and a warehouse that records what it was built from (warehouse_info)
# 4: runs.layer_sizes, activation, mask_layers; weights of deeper networks as layers.i.*
# 5: runs.model_file, model_sha256, output (networks loaded with --model; a null train_seed)
STORE_VERSION = 5
# Written last by a run: what it finished, with fingerprints, hashes and row counts per file.
MANIFEST = "manifest.json"
WAREHOUSE = "warehouse.duckdb"
# A manifest of a default run is ~50 KB; anything past this is not one, and is not read into memory.
MAX_MANIFEST_BYTES = 64 << 20


def read_json_capped(path: Path, cap: int):
    """JSON from a file of at most `cap` bytes (ValueError beyond, or if it is not JSON)."""
    with open(path, "rb") as f:
        data = f.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"larger than {cap:,} bytes")
    return json.loads(data.decode("utf-8"))


def _rerun(store: Path) -> str:
    return f"`python -m ingest.run --store {store}`"


def load_manifest(store: Path) -> tuple[dict, list[str]]:
    """The manifest of a complete store of this STORE_VERSION, read through the schema
    (ingest/schema.py), and one line per malformed entry left out of it.

    Raises StoreError with one line that says what is wrong and which command fixes it: no such
    folder, no manifest.json (not a Knockout store), a manifest that cannot be read or is not one,
    a run that did not finish (status "running"), or a store of another version."""
    from ingest.claim import store_id_of
    from ingest.schema import parse

    store = Path(store)
    if not store.is_dir():
        raise StoreError(f"no store at {store}; run {_rerun(store)} first")
    path = store / MANIFEST
    try:
        raw = read_json_capped(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        raise StoreError(f"{store} is not a Knockout store (no {MANIFEST}); run {_rerun(store)}") from None
    except (OSError, ValueError) as exc:
        raise StoreError(f"cannot read {path}: {str(exc).splitlines()[0] if str(exc) else exc!r}") from None
    if not isinstance(raw, dict) or store_id_of(raw) is None:
        raise StoreError(f"{path} is not a Knockout manifest")
    if raw.get("status") != "complete":
        raise StoreError(f"the last run on {store} did not finish; run {_rerun(store)} again to complete it")
    if raw.get("store_version") != STORE_VERSION:
        raise StoreError(f"{store} was written by another version of Knockout (store version "
                         f"{str(raw.get('store_version'))[:20]}, this one reads {STORE_VERSION}); "
                         f"rebuild it with {_rerun(store)}")
    if not store_id_of(raw):
        raise StoreError(f"{path} has no store id; rebuild it with {_rerun(store)}")
    if not isinstance(raw.get("files"), dict) or not isinstance(raw.get("config"), dict):
        raise StoreError(f"{path} is not a Knockout manifest (no files or config section)")
    return parse(raw)


def check_complete_store(store: Path) -> dict:
    """The manifest of `store` if it is a complete store of this STORE_VERSION with no malformed
    entry; otherwise StoreError, one line. Only the manifest is read, so every reader can afford
    the check; `python -m ingest.verify` goes on to re-hash the files it lists."""
    manifest, problems = load_manifest(store)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StoreError(f"{Path(store) / MANIFEST} has a malformed entry: {problems[0]}{more}; "
                         f"check it with `python -m ingest.verify --store {store}`, repair it with {_rerun(store)}")
    return manifest


def check_warehouse(store: Path) -> dict:
    """The manifest of a complete store whose warehouse.duckdb is the one its last run built.

    Cheap enough for every reader (the report calls it before it draws): it opens the warehouse
    read-only and compares its store id, what it was built from, the row count of every table and
    mart, and the file's SHA-256 with the manifest. Refuses, with StoreError in one line, a
    warehouse that is missing or unreadable (overwritten, damaged), another store's warehouse copied
    in, one built before the store was moved or its SQL changed, one whose rows were added or
    deleted, and one changed in any other way (values edited, bytes flipped). `ingest.verify` goes
    further: a content hash of every table says which one changed."""
    import duckdb

    from ingest.ledger import sha256
    from ingest.outputs import warehouse_fingerprint

    store = Path(store)
    manifest = check_complete_store(store)
    entry = manifest["outputs"].get("warehouse")
    path = store / WAREHOUSE
    if entry is None:
        raise StoreError(f"{store} has no warehouse recorded in its manifest; run {_rerun(store)}")
    if not path.is_file():
        raise StoreError(f"{path} is missing; rebuild it with {_rerun(store)}")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise StoreError(f"cannot open {path} ({str(exc).splitlines()[0][:120]}); rebuild it with "
                         f"{_rerun(store)}") from None
    try:
        info = con.execute("select store_id, built_from from warehouse_info").fetchall()
        if len(info) != 1:
            raise StoreError(f"{path} has no single warehouse_info row; rebuild it with {_rerun(store)}")
        store_id, built_from = info[0]
        if store_id != manifest["store_id"]:
            raise StoreError(f"{path} belongs to another store (store id {str(store_id)[:32]}, this store "
                             f"is {manifest['store_id']}); rebuild it with {_rerun(store)}")
        if built_from != entry["fingerprint"]:
            raise StoreError(f"{path} is not the warehouse the last run built; rebuild it with {_rerun(store)}")
        if warehouse_fingerprint(store, manifest["files"], manifest["config"], manifest["store_id"]) != built_from:
            raise StoreError(f"{path} was built for other files, another place or other SQL than the "
                             f"store now has; rebuild it with {_rerun(store)}")
        for table, recorded in sorted(entry["tables"].items()):
            rows = con.execute(f'select count(*) from "{table}"').fetchone()[0]
            if rows != recorded["rows"]:
                raise StoreError(f"{path}: table {table} has {rows:,} rows, the manifest says "
                                 f"{recorded['rows']:,}; rebuild it with {_rerun(store)}")
    except duckdb.Error as exc:
        raise StoreError(f"cannot read {path} ({str(exc).splitlines()[0][:120]}); rebuild it with "
                         f"{_rerun(store)}") from None
    finally:
        con.close()
    if sha256(path) != entry["sha256"]:  # edited values, flipped bytes: ~0.1 s for the default run
        raise StoreError(f"{path} has changed since the run built it (its SHA-256 differs from the "
                         f"manifest's); rebuild it with {_rerun(store)}")
    return manifest
