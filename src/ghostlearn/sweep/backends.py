"""Where the batches of a sweep run: in this process, a local process pool, or Dask.

Every backend calls the same batch function (:func:`run_batch` by default) on the same
:class:`~ghostlearn.sweep.plan.Batch` and hands the resulting Dataset back to the driver,
which alone writes the store; so the stored numbers do not depend on the backend. A
backend is a context manager: entering it starts or connects to the workers (before
anything is written), and ``imap`` yields ``(batch, result)`` pairs as batches finish, in
any order.

Workers of the pool and of a local Dask cluster see one CPU core each for JAX (see
:func:`worker_environment`), so ``n`` workers give up to ``n``-fold throughput.
"""

from __future__ import annotations

import heapq
import logging
import multiprocessing
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import xarray as xr

from .._validate import at_least

if TYPE_CHECKING:
    # Annotations only: the plan imports the backends (for its budget and estimate).
    from .plan import Batch

__all__ = [
    "Backend",
    "Dask",
    "InProcess",
    "ProcessPool",
    "exit_with_driver",
    "run_batch",
    "worker_environment",
]

#: ``batch_fn(batch, progress=None) -> Dataset``; ``progress(epochs_done, epochs_total)``.
BatchFn = Callable[..., xr.Dataset]
Partial = Callable[["Batch", int, int], None]
#: What a backend's ``fn`` returns for a batch (a Dataset, or a Dataset with its timing).
_R = TypeVar("_R")


def run_batch(batch: Batch, progress: Callable[[int, int], None] | None = None) -> xr.Dataset:
    """Train the networks of one batch with ``ghostlearn.train.train``.

    The same function runs on every backend, so a batch's numbers do not depend on where
    it ran. Each batch trains on one XLA device (``devices=1``): splitting a population over
    several devices can change the last bit of the metrics, and pool and Dask workers have
    one device each. Use a process pool or Dask to use several cores.

    Args:
        batch: a batch of a :class:`~ghostlearn.sweep.plan.SweepPlan`.
        progress: forwarded to ``train`` as ``progress(epochs_done, epochs_total)``.

    Returns:
        ``train``'s Dataset for the batch's P networks (dims ``net``, ``epoch``, ...), with
        a ``cell`` coordinate along ``net`` holding each network's flat cell index.
    """
    from ..rnn import RNNConfig
    from ..train import train

    cfg = RNNConfig(**batch.model)
    data = train(
        cfg,
        seeds=batch.seed,
        lr=batch.lr,
        c=batch.c if cfg.model == "rank1" else None,
        progress=progress,
        **{"devices": 1, **batch.train},
    )
    return data.assign_coords(cell=("net", batch.cells))


def worker_environment() -> dict[str, str]:
    """Environment for a worker process that should use one CPU core for JAX.

    XLA reads these when its CPU backend starts (the first JAX computation of the
    process), so they must be in the environment before that: one host device (the engine
    may otherwise split a batch over several) and no multi-threaded Eigen kernels; BLAS
    and OpenMP pools of one thread.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    flags = re.sub(r"--xla_force_host_platform_device_count=\S+", "", flags)
    flags = re.sub(r"--xla_cpu_multi_thread_eigen=\S+", "", flags)
    flags = " ".join(
        [
            *flags.split(),
            "--xla_force_host_platform_device_count=1",
            "--xla_cpu_multi_thread_eigen=false",
        ]
    )
    return {
        "XLA_FLAGS": flags,
        "JAX_NUM_CPU_DEVICES": "1",
        "JAX_PLATFORMS": os.environ.get("JAX_PLATFORMS", "cpu"),
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
    }


class Backend(Protocol):
    """What ``run_sweep`` needs from a backend."""

    name: str

    def __enter__(self) -> Backend: ...

    def __exit__(self, exc_type: object, exc: object, tb: object, /) -> None: ...

    def imap(
        self, fn: Callable[..., _R], batches: Iterable[Batch], partial: Partial | None = None
    ) -> Iterator[tuple[Batch, _R]]: ...


class InProcess:
    """Run the batches one after another in this process (the default; no dependency).

    The engine's own epoch progress is forwarded, so a long batch shows live progress.
    """

    name = "in-process"

    def __enter__(self) -> InProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap(
        self, fn: Callable[..., _R], batches: Iterable[Batch], partial: Partial | None = None
    ) -> Iterator[tuple[Batch, _R]]:
        for batch in batches:
            if partial is None:
                result = fn(batch)
            else:
                result = fn(batch, progress=lambda done, total, b=batch: partial(b, done, total))
            yield batch, result


def _init_worker(env: dict[str, str], driver: int | None = None) -> None:
    os.environ.update(env)
    if driver is not None:
        exit_with_driver(driver)


def exit_with_driver(driver: int) -> None:
    """Make this worker process exit when the process ``driver`` (its parent) dies.

    A driver killed with ``kill -9`` cannot stop its pool, so each worker watches it: on
    Linux the kernel sends the worker SIGKILL when its parent dies (``prctl``
    ``PR_SET_PDEATHSIG``); everywhere, a daemon thread checks once a second that the
    parent is still ``driver`` and ends the process if not.
    """
    import signal
    import sys
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    if os.getppid() != driver:  # the driver died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != driver:
                os._exit(1)

    threading.Thread(target=watch, name="ghostlearn-driver-watch", daemon=True).start()


def _call(fn: Callable[..., _R], batch: Batch) -> _R:
    return fn(batch)


class ProcessPool:
    """A pool of local worker processes (``spawn`` start method: JAX is not fork-safe).

    Workers exit when the driver dies, however it dies (see :func:`exit_with_driver`).

    At most ``workers`` batches are in flight; a worker that dies (a crash, the OOM
    killer) breaks the pool: the batches it was running are resubmitted to a fresh pool,
    each at most ``retries`` times.

    Args:
        workers: number of processes (default: every CPU core of this machine).
        retries: how often a batch may be resubmitted after a worker died.
    """

    name = "process-pool"

    def __init__(self, workers: int | None = None, *, retries: int = 2) -> None:
        workers = (os.cpu_count() or 1) if workers is None else workers
        at_least("workers", workers, 1)
        at_least("retries", retries, 0)
        self.workers = int(workers)
        self.retries = int(retries)
        self._pool: ProcessPoolExecutor | None = None

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(worker_environment(), os.getpid()),
        )

    def __enter__(self) -> ProcessPool:
        self._pool = self._new_pool()
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if self._pool is None:
            return
        if exc_type is not None:
            # Interrupted (Ctrl-C, a failed write): do not wait for the running batches.
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
        self._pool.shutdown(wait=exc_type is None, cancel_futures=True)
        self._pool = None

    def imap(
        self, fn: Callable[..., _R], batches: Iterable[Batch], partial: Partial | None = None
    ) -> Iterator[tuple[Batch, _R]]:
        """Run ``batches`` (taken from the iterable only as workers free up, so a lazy
        sequence of millions of batches is never held at once) and yield them as they
        finish."""
        if self._pool is None:
            raise RuntimeError("enter the ProcessPool context before calling imap")
        source = iter(batches)
        retry: list[tuple[int, int, Batch]] = []  # lost batches, smallest index first
        running: dict[Future[_R], Batch] = {}
        attempts: dict[int, int] = {}
        while True:
            broken = False
            lost: list[Batch] = []
            while len(running) < self.workers:
                if retry:
                    batch = heapq.heappop(retry)[2]
                else:
                    fresh = next(source, None)
                    if fresh is None:
                        break
                    batch = fresh
                try:
                    running[self._pool.submit(_call, fn, batch)] = batch
                except BrokenProcessPool:
                    heapq.heappush(retry, (batch.index, id(batch), batch))
                    broken = True
                    break
            if not running and not broken:
                return
            if not broken:
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    batch = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        lost.append(batch)
                        broken = True
                        continue
                    yield batch, result
            if broken:
                # Every batch in flight when the pool broke is lost: run them again.
                lost += list(running.values())
                running.clear()
                for batch in lost:
                    attempts[batch.index] = attempts.get(batch.index, 0) + 1
                    if attempts[batch.index] > self.retries:
                        raise RuntimeError(
                            f"batch {batch.name} lost its worker {attempts[batch.index]} times "
                            f"(retries={self.retries}); giving up"
                        )
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = self._new_pool()
                for batch in lost:
                    heapq.heappush(retry, (batch.index, id(batch), batch))


def _check_address(address: str) -> None:
    if not re.fullmatch(r"(tcp|tls|inproc|ucx|ws|wss)://[^\s:/]+(:\d+)?/?", address):
        raise ValueError(f"scheduler must be an address like tcp://HOST:PORT, got {address!r}")


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ImportError(
            "the Dask backend needs Dask distributed: pip install 'ghostlearn[dask]'"
        ) from None
    return distributed


class Dask:
    """Run batches on a Dask cluster: an existing one, or a local one started here.

    The workers compute and return each batch's Dataset; the driver writes the store, so
    the workers need no access to it. A batch whose worker dies is run again by Dask on
    another worker; a batch that raises is retried ``retries`` times.

    Args:
        scheduler: address of a running scheduler, e.g. ``"tcp://10.0.0.5:8786"``.
        local_workers: start a ``LocalCluster`` of this many worker processes (one thread
            and one JAX CPU device each) instead.
        retries: retries of a batch that raises on a worker.
        connect_timeout: seconds to wait for ``scheduler`` to answer.
        max_in_flight: most batches submitted to the cluster at once (default: twice
            its threads, at least 64); the others are built and submitted as batches
            finish.

    Raises:
        ValueError: neither or both of ``scheduler`` and ``local_workers``, a malformed
            address, or (on entering) a scheduler that does not answer.
        ImportError: Dask distributed is not installed (``pip install 'ghostlearn[dask]'``).
    """

    name = "dask"

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        local_workers: int | None = None,
        retries: int = 2,
        connect_timeout: float = 5.0,
        max_in_flight: int | None = None,
    ) -> None:
        if (scheduler is None) == (local_workers is None):
            raise ValueError("give exactly one of scheduler (an address) and local_workers")
        if scheduler is not None:
            _check_address(scheduler)
        if local_workers is not None:
            at_least("local_workers", local_workers, 1)
        at_least("retries", retries, 0)
        if max_in_flight is not None:
            at_least("max_in_flight", max_in_flight, 1)
        self.scheduler = scheduler
        self.local_workers = local_workers
        self.retries = int(retries)
        self.connect_timeout = float(connect_timeout)
        self.max_in_flight = max_in_flight
        self._client: Any = None
        self._cluster: Any = None

    def __enter__(self) -> Dask:
        distributed = _import_distributed()
        if self.scheduler is not None:
            try:
                self._client = distributed.Client(
                    self.scheduler, timeout=self.connect_timeout, set_as_default=False
                )
            except (OSError, TimeoutError) as e:
                raise ValueError(
                    f"no Dask scheduler answers at {self.scheduler} "
                    f"(waited {self.connect_timeout:g} s: {type(e).__name__})"
                ) from None
        else:
            self._cluster = distributed.LocalCluster(
                n_workers=self.local_workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env=worker_environment(),
            )
            self._client = distributed.Client(self._cluster, set_as_default=False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def _window(self) -> int:
        """How many batches to keep submitted: ``max_in_flight``, else twice the
        cluster's threads now (at least 64), so workers that join are kept busy."""
        if self.max_in_flight is not None:
            return self.max_in_flight
        try:
            threads = sum(self._client.nthreads().values())
        except (OSError, TimeoutError, AttributeError):
            threads = 0
        return max(64, 2 * int(threads))

    def imap(
        self, fn: Callable[..., _R], batches: Iterable[Batch], partial: Partial | None = None
    ) -> Iterator[tuple[Batch, _R]]:
        """Submit ``batches`` to the cluster, at most :meth:`_window` at a time (taken
        from the iterable as others finish, so a lazy sequence of millions of batches is
        never held at once), and yield them as they finish."""
        distributed = _import_distributed()
        if self._client is None:
            raise RuntimeError("enter the Dask context before calling imap")
        tag = uuid.uuid4().hex[:8]
        source = iter(batches)
        futures: dict[str, tuple[Any, Batch]] = {}
        pending = distributed.as_completed(with_results=True, loop=self._client.loop)

        def submit_more() -> None:
            window = self._window()
            while len(futures) < window:
                batch = next(source, None)
                if batch is None:
                    return
                future = self._client.submit(
                    fn,
                    batch,
                    retries=self.retries,
                    pure=False,
                    key=f"ghostlearn-sweep-{batch.name}-{tag}",
                )
                futures[future.key] = (future, batch)
                pending.add(future)

        submit_more()
        try:
            for future, result in pending:
                _, batch = futures.pop(future.key)
                future.release()
                submit_more()  # before yielding: the cluster works while the driver writes
                yield batch, result
        finally:
            for future, _ in futures.values():
                future.cancel()
