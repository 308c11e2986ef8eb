"""`python tests/harness.py MODE -- <ingest.run flags>`: the real CLI with one phase slowed or broken.

Signals must land inside a given phase, and a full disk must strike mid-write; on a tiny config
every phase lasts milliseconds. So this wrapper patches one thing, prints `[harness] MODE` on stderr
when the phase starts, and then runs `ingest.run` exactly as `python -m ingest.run` does:
- train: the real lockstep training, repeated (torch ops for about 10 s);
- kernel: the real C kernel over the exhaustive shard, repeated (worker threads busy);
- write: a Parquet file being written (pyarrow encoding into memory, repeatedly, before the file
  is committed);
- warehouse: a long DuckDB query inside the warehouse build;
- enospc: writing the input grid's file fails with ENOSPC (errno 28), as on a full disk;
- enospc-warehouse: DuckDB reports a full disk while the warehouse is being built;
- no-budget: the up-front size check is skipped (a real full disk, tests/test_disk_full.py);
- grid-fails: the check of the grid against the trained networks fails (a failure found after
  training, before anything is written).
"""
from __future__ import annotations

import errno
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

LONG = 10.0  # seconds a slowed phase lasts: far longer than a test waits before it signals


def marker(mode: str) -> None:
    print(f"[harness] {mode}", file=sys.stderr, flush=True)


def patch(mode: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingest import budget, catalog, kernel, network, stages, store
    from ingest.errors import UserError

    if mode == "train":
        real = network.train_many

        def train_many(*args, **kwargs):
            marker(mode)
            end = time.time() + LONG
            while time.time() < end:
                result = real(*args, **kwargs)
            return result
        network.train_many = train_many
    elif mode == "kernel":
        real_range = kernel.MaskKernel.evaluate_range

        def evaluate_range(self, start, stop):
            marker(mode)
            end = time.time() + LONG
            while time.time() < end:
                result = real_range(self, start, stop)
            return result
        kernel.MaskKernel.evaluate_range = evaluate_range
    elif mode == "write":
        real_write = store.FileWriter.write

        def write(self, table):
            real_write(self, table)
            if self.final.parent.name == "mask_samples":
                marker(mode)
                end = time.time() + LONG
                while time.time() < end:
                    pq.write_table(pa.concat_tables([table] * 50), pa.BufferOutputStream())
        store.FileWriter.write = write
    elif mode == "warehouse":
        real_objects = catalog.sql_objects

        class Slow:
            name, kind = "slow_query", "table"

            def text(self):
                marker(mode)
                return "create table slow_query as select sum(i * i % 7) as s from range(100000000000) t(i)"
        catalog.sql_objects = lambda: [Slow(), *real_objects()]
    elif mode == "enospc":
        real_write = store.FileWriter.write

        def write(self, table):
            if self.final.parent.name == "input_grid":  # after other stages have written their files
                real_write(self, table)  # the temporary file exists, half written
                marker(mode)
                raise OSError(errno.ENOSPC, "No space left on device")
            real_write(self, table)
        store.FileWriter.write = write
    elif mode == "enospc-warehouse":
        import duckdb
        real_objects = catalog.sql_objects

        class Full:
            name, kind = "full_disk", "table"

            def text(self):
                marker(mode)
                raise duckdb.IOException('IO Error: Could not write file ".warehouse.duckdb.tmp": '
                                         "No space left on device")
        catalog.sql_objects = lambda: [*real_objects(), Full()]
    elif mode == "no-budget":
        budget.check = lambda config, store, plan=None: None
    elif mode == "grid-fails":
        def check_grid(config, t):
            marker(mode)
            raise UserError("--grid-extent gives non-finite activations in network 0: choose a smaller extent")
        stages.check_grid = check_grid
    else:
        raise SystemExit(f"unknown harness mode {mode!r}")


if __name__ == "__main__":
    mode, separator, *flags = sys.argv[1:]
    assert separator == "--", "usage: harness.py MODE -- FLAGS"
    patch(mode)
    from ingest import run
    run.exit_with(run.main(flags))
