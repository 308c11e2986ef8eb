"""Where a run's units of work run: in this process (`--executor local`, threads for the stages that
declare them) or as Ray tasks (`--executor ray`: a local Ray instance, or the cluster at
`--ray-address`).

Nothing about the numbers changes with the executor: a Ray task calls the same stage function on the
same network config, rebuilt in the worker from the stored weights (a trained network's files are
written before any later unit starts), and writes its files through the same atomic writer
(ingest/store.py) into the store folder, which must therefore be one the workers can reach — on one
machine any folder; on a cluster a shared filesystem mounted at the same path on every node. The
driver alone records finished units in the ledger, as they arrive, so a killed run resumes unit by
unit exactly as with the local executor. Training runs as one task per group of networks that share
a config but the seed (ingest/pipeline.py); the task returns the tables and the driver writes them.
"""
from __future__ import annotations

import importlib.util
import os
import socket
from pathlib import Path

from ingest.errors import UserError

EXECUTORS = ("local", "ray")
INSTALL = "pip install -e '.[ray]'"
PROBE_SECONDS = 3.0
REPO = Path(__file__).resolve().parent.parent


def check(executor: str, address: str) -> None:
    """One line (UserError) before anything runs: an unknown executor, Ray missing, an address
    without Ray, an address nothing answers at."""
    if executor not in EXECUTORS:
        raise UserError(f"config 'executor' must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if address and executor != "ray":
        raise UserError("--ray-address goes with --executor ray")
    if executor != "ray":
        return
    if not installed():
        raise UserError(f"--executor ray needs Ray, which is not installed: {INSTALL}")
    if address and address != "auto":
        host, port = parse_address(address)
        try:
            with socket.create_connection((host, port), timeout=PROBE_SECONDS):
                pass
        except OSError as exc:
            raise UserError(f"--ray-address {address}: nothing answers at {host}:{port} "
                            f"({exc.strerror or exc}); start the cluster (ray start --head) or drop "
                            "--ray-address for a local Ray instance") from None


def installed() -> bool:
    try:
        return importlib.util.find_spec("ray") is not None
    except (ImportError, ValueError):  # a broken or blocked installation
        return False


def parse_address(address: str) -> tuple[str, int]:
    """host and port of `host:port` or `ray://host:port` (Ray Client's default port 10001)."""
    rest = address.split("://", 1)[1] if "://" in address else address
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--ray-address must be HOST:PORT, ray://HOST:PORT or auto, got {address!r}")
    return host.strip("[]"), int(port)


class Local:
    remote = False

    def close(self) -> None:
        pass


class Ray:
    """A Ray session for one run: started here (local instance, every core of this machine) or joined
    (`address`), shut down when the run ends."""
    remote = True

    def __init__(self, address: str = ""):
        import ray
        self.ray = ray
        env = {"env_vars": {"PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}}
        kwargs = dict(include_dashboard=False, log_to_driver=False, runtime_env=env, configure_logging=False)
        if address:
            ray.init(address=address, **kwargs)
        else:
            ray.init(num_cpus=os.cpu_count(), **kwargs)
        self._unit = ray.remote(run_unit)
        self._train = ray.remote(train_group)

    def cpus(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def submit_unit(self, stage: str, config, store: Path, run_id: int, args: tuple):
        return self._unit.remote(stage, config, str(store), run_id, args)

    def submit_training(self, config, group: dict[int, int]):
        return self._train.remote(config, group)

    def wait_one(self, pending: list):
        """(the first finished of `pending`, its result); raises the task's own exception."""
        done, _ = self.ray.wait(pending, num_returns=1)
        return done[0], self.ray.get(done[0])

    def cancel(self, pending: list) -> None:
        for ref in pending:
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # already finished, or the worker gone
                pass

    def close(self) -> None:
        self.ray.shutdown()


def make(config):
    return Ray(config.ray_address) if config.executor == "ray" else Local()


# --- in the Ray worker --------------------------------------------------------------------------------

_TRAINED: dict[tuple, object] = {}  # (store, run_id, weights file identity) → stages.Trained


def trained_in_worker(config, store: Path, run_id: int):
    """The network of run_id, rebuilt from its stored weights once per worker process."""
    from ingest import stages
    weights = store / "weights" / f"{stages.file_name(run_id)}.parquet"
    stat = weights.stat()
    key = (str(store.resolve()), run_id, stat.st_size, stat.st_mtime_ns, config.to_json(seeds=False))
    if key not in _TRAINED:
        _TRAINED.clear()  # one network at a time is plenty: units arrive network by network
        _TRAINED[key] = stages.load_trained(config, store, run_id)
    return _TRAINED[key]


def run_unit(stage: str, config, store: str, run_id: int, args: tuple) -> list[str]:
    """One unit of a stage after training, in a Ray worker: its files' paths."""
    from ingest import stages
    store = Path(store)
    files = stages.STAGES[stage].work(config, store, trained_in_worker(config, store, run_id), *args)
    return [str(f) for f in files]


def train_group(config, group: dict[int, int]) -> dict[int, dict]:
    """Networks of one config trained together in a Ray worker: {run_id: their tables}."""
    from ingest import stages
    return {run_id: fitted.tables for run_id, fitted in stages.fit_all(config, group).items()}
