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
import logging
import os
import socket
import threading
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

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


class Ray:
    """A Ray session for one run: started here (local instance, every core of this machine) or joined
    (`address`), shut down when the run ends.

    Ray starts in a thread of its own as soon as the session is made, so its 2–4 s of start-up
    overlap the driver's imports and planning, and that thread then has each worker import the stage
    code once, before the first unit arrives. The thread lives until close(): on Linux, Ray's
    processes are told to exit when the thread that started them ends; that thread shuts Ray down
    once the driver has no more units for it (release()), while the warehouse and the page build."""
    remote = True

    def __init__(self, address: str = ""):
        self._ready, self._stop = threading.Event(), threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._start, args=(address,), name="knockout-ray", daemon=True)
        self._thread.start()

    def _start(self, address: str) -> None:
        try:
            import ray
            # Ray's driver sets no SIGTERM handler from this thread, and says so: ingest/signals.py
            # handles SIGTERM for the run, as with the local executor
            logging.getLogger("ray._private.worker").addFilter(
                lambda record: "SIGTERM handler is not set" not in record.getMessage())
            # nor its notice that a local instance uses token authentication (its default) under the
            # run's own output, such as a one-line error
            logging.getLogger("ray._private.authentication.authentication_token_setup").addFilter(
                lambda record: "Token authentication is enabled" not in record.getMessage())
            path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
            kwargs = dict(include_dashboard=False, log_to_driver=False, configure_logging=False)
            if address:  # the cluster's workers learn where the code is from the job's runtime environment
                ray.init(address=address, runtime_env={"env_vars": {"PYTHONPATH": path}}, **kwargs)
            else:  # a local instance's workers inherit this process's environment (a runtime
                # environment would cost about 1.8 s more to start)
                os.environ["PYTHONPATH"] = path
                ray.init(num_cpus=os.cpu_count(), **kwargs)
            self.ray = ray
            self._unit = ray.remote(run_unit)
            self._train = ray.remote(train_group)
            self._cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            self._warm = [ray.remote(warm_up).remote() for _ in range(self._cpus)]
        except BaseException as exc:  # raised again in the driver's thread by the first use
            self._failure = exc
        finally:
            self._ready.set()
        self._stop.wait()
        if self._failure is None:
            # a warm-up still running at shutdown (a run refused right after the start) makes Ray's core
            # print "Failed to push error to driver" under the run's one-line error: let them end first
            self.ray.wait(self._warm, num_returns=len(self._warm), timeout=60)
            self.ray.shutdown()  # here, off the driver's path: the warehouse and page build meanwhile

    def _started(self):
        self._ready.wait()
        if self._failure is not None:
            raise self._failure
        return self.ray

    def cpus(self) -> int:
        self._started()
        return self._cpus

    def submit_unit(self, stage: str, config, store: Path, run_id: int, args: tuple):
        self._started()
        return self._unit.remote(stage, config, str(store), run_id, args)

    def submit_training(self, config, group: dict[int, int]):
        self._started()
        return self._train.remote(config, group)

    def wait_one(self, pending: list):
        """(the first finished of `pending`, its result); raises the task's own exception."""
        ray = self._started()
        done, _ = ray.wait(pending, num_returns=1)
        return done[0], ray.get(done[0])

    def cancel(self, pending: list) -> None:
        ray = self._started()
        for ref in pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # already finished, or the worker gone
                pass

    def release(self) -> None:
        """No more units: Ray shuts down in its thread while the driver goes on."""
        self._stop.set()

    def close(self) -> None:
        """Ray shut down (waiting for it): the end of the run, or a failure or signal on the way."""
        self._stop.set()
        self._thread.join()


_prestarted: list = []  # a session started by prestart() and not yet taken by make()


def prestart(config) -> None:
    """Start the executor early (Ray's start-up then overlaps the driver's imports); make() takes it."""
    if config.executor == "ray" and not _prestarted:
        _prestarted.append(Ray(config.ray_address))


def discard() -> None:
    """Shut down a prestarted session no run took (the run stopped before it began)."""
    while _prestarted:
        _prestarted.pop().close()


def make(config):
    if config.executor != "ray":
        return Local()
    return _prestarted.pop() if _prestarted else Ray(config.ray_address)


# --- in the Ray worker --------------------------------------------------------------------------------

_TRAINED: dict[tuple, object] = {}  # (store, run_id, weights file identity) → stages.Trained


def warm_up() -> None:
    """What the units import (torch, pyarrow, the kernels' modules) imported in a worker before its
    first unit: about 1 s per worker process."""
    import pyarrow.parquet  # noqa: F401
    import torch

    from ingest import aggregate, kernel, network, stages, store, tables  # noqa: F401
    layer = torch.nn.Linear(2, 2)  # torch sets up its autograd and optimiser paths on first use
    with network.one_thread():
        optimiser = torch.optim.RMSprop(layer.parameters())
        layer(torch.zeros(1, 2)).sum().backward()
        optimiser.step()


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
