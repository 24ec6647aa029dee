"""Reading several samples files at once, in worker processes (with their corpus statistics).

:func:`read_samples_many` decodes several files in this process and ``python -c`` worker
processes that import only :mod:`lm_eval_mtl.io` (numpy and msgspec; not torch, not lm-eval,
not the caller's ``__main__``); :func:`samples_workers` says how many: ``$LM_EVAL_MTL_WORKERS``,
else min(CPUs, files, 8) when the files to decode are large enough (:data:`POOL_MIN_BYTES`),
else none. Each file is read by the same code in any process and comes back in the entries' msgpack
layout, so the results do not depend on the number of workers.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from lm_eval_mtl.errors import MTLError
from lm_eval_mtl.io.cache import _Entry, _from_entry, _to_entry, configure, enabled, is_cached, samples_folder

if TYPE_CHECKING:
    from lm_eval_mtl.io.samples import TaskSamples
    from lm_eval_mtl.stats.corpus import CorpusStats

__all__ = [
    "POOL_MIN_BYTES",
    "START_BYTES",
    "WORKERS_ENV",
    "SamplesRequest",
    "read_samples_many",
    "samples_workers",
    "serve_job",
]


SamplesRequest = tuple[Path, str, str, "str | None"]
"""What :func:`read_samples_many` reads: (file, task, filter, output type)."""
WORKERS_ENV = "LM_EVAL_MTL_WORKERS"
"""Environment variable: processes that read samples files (1: read them in this process)."""
START_BYTES = 32 << 20
"""What a worker's start-up (about 0.1-0.3 s) is worth in bytes to decode, when files are dealt:
the calling process, which reads the first share, starts at once."""
POOL_MIN_BYTES = 128 << 20
"""Without :data:`WORKERS_ENV`, w workers start only for files to decode that total at least
this x w / (w - 1): starting them costs about 0.1-0.5 s, and they save (1 - 1/w) of the decode
(about 250-600 MB/s in one process)."""


# --------------------------------------------------------------------------- several files at once


def samples_workers(requests: Sequence[SamplesRequest]) -> int:
    """Return how many processes should read ``requests`` (1: read them here, one after another).

    ``$LM_EVAL_MTL_WORKERS`` decides when set; otherwise w = min(CPUs, files, 8) processes when
    the files not yet in the cache total at least :data:`POOL_MIN_BYTES` x w / (w - 1) (256 MiB
    for 2 workers, 146 MiB for 8), else 1.

    Raises:
        MTLError: ``$LM_EVAL_MTL_WORKERS`` is not a positive integer.
    """
    files = {r[0] for r in requests}
    env = os.environ.get(WORKERS_ENV, "").strip()
    if env:
        try:
            wanted = int(env)
        except ValueError:
            wanted = 0
        if wanted < 1:
            raise MTLError(
                f"${WORKERS_ENV} must be a positive integer (1: no worker processes); got {env!r}."
            )
        return max(1, min(wanted, len(files)))
    if len(files) < 2:
        return 1
    size = 0
    for path, _, filt, otype in requests:
        if not is_cached(path, (filt, otype or "")):
            try:
                size += path.stat().st_size
            except OSError:
                pass
    workers = max(1, min(_cpus(), len(files), 8))
    # start-up (about 0.1-0.5 s) pays when the time saved, (1 - 1/w) of the decode, exceeds it
    if workers < 2 or size == 0 or size * (workers - 1) < POOL_MIN_BYTES * workers:
        return 1
    return workers


def _cpus() -> int:
    """CPUs this process may use (its affinity where the platform says, else the machine's)."""
    count = getattr(os, "process_cpu_count", None)
    if count is not None:
        return int(count() or 1)
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class _Job(msgspec.Struct, array_like=True):
    root: str
    on: bool
    out: str
    requests: list[tuple[int, str, str, str, str | None, list[str]]]
    claims: int = -1  # a pipe of request indices the processes take turns on (-1: serve `requests` in order)


class _Result(msgspec.Struct, array_like=True):
    index: int
    entry: _Entry | None
    error_module: str = ""
    error_type: str = ""
    message: str = ""


_WORKER = "import sys; from lm_eval_mtl.io.workers import serve_job; serve_job(sys.argv[1])"


def serve_job(job_file: str) -> None:
    """Run one worker's share of :func:`read_samples_many` (in a ``python -c`` process).

    Each request's samples (or the error reading them gave) are appended to the file ``out``, one
    length-prefixed msgpack frame per request (:func:`_frames`): one file per worker, not one per
    request (creating a file is the costly part of writing a small one on some file systems).
    """
    job = msgspec.msgpack.decode(Path(job_file).read_bytes(), type=_Job)
    configure(job.root, job.on)
    by_index = {r[0]: r for r in job.requests}
    order = _claims(job.claims) if job.claims >= 0 else iter(by_index)
    with open(job.out, "wb") as out:
        for index in order:
            out.write(_frame(_serve(*by_index[index])))
            out.flush()  # a worker that dies leaves whole frames of the files it read


_INDEX = 4  # bytes of a request index in the claims pipe
_MAX_CLAIMS = 16_000  # indices that fit in a pipe's default buffer (64 KiB), written before any process reads


def _claims(fd: int) -> Iterator[int]:
    """Take request indices from the claims pipe until it is empty.

    The indices are all written (in one go, before any reader starts) and the write end is
    closed, so each read of :data:`_INDEX` bytes takes one whole index, never taken by another
    process: the processes share the files by turns, as each finishes one.
    """
    while True:
        b = os.read(fd, _INDEX)
        if len(b) < _INDEX:
            return
        yield int.from_bytes(b, "little")


def _serve(
    index: int, path: str, task: str, filter: str, output_type: str | None, corpus: list[str]
) -> bytes:
    """One request of a worker: the msgpack of its :class:`_Result`."""
    from lm_eval_mtl.io.samples import Extract, read_samples

    try:
        s = read_samples(path, task=task, filter=filter, output_type=output_type)
        _corpus_stats(s, corpus)
        ext = Extract(
            s.doc_ids, s.lines, s.doc_hashes, s.prompt_hashes, s.target_hashes, s.scores, s.n_choices,
            s.pairs, s.nested, s.filters_available, s._doc_fields,
        )  # fmt: skip
        result = _Result(index, _to_entry(s.cache_key, "", ext))
    except Exception as err:  # noqa: BLE001 - every error goes back to the caller
        result = _Result(index, None, type(err).__module__, type(err).__name__, str(err))
    try:
        return msgspec.msgpack.encode(result)
    except Exception:  # noqa: BLE001 - text msgpack cannot hold: the caller reads the file itself
        return msgspec.msgpack.encode(_Result(index, None))


_LEN = 8  # bytes of a frame's length prefix (little-endian)


def _frame(payload: bytes) -> bytes:
    return len(payload).to_bytes(_LEN, "little") + payload


def _frames(data: bytes) -> Iterator[bytes]:
    """Yield the whole frames of a worker's results file (a cut-off last frame is left out)."""
    at = 0
    while at + _LEN <= len(data):
        size = int.from_bytes(data[at : at + _LEN], "little")
        if at + _LEN + size > len(data):
            return
        yield data[at + _LEN : at + _LEN + size]
        at += _LEN + size


def _claims_pipe(order: Sequence[int]) -> int | None:
    """Return the read end of a pipe holding every index of ``order`` (see :func:`_claims`), or None."""
    if os.name != "posix" or len(order) > _MAX_CLAIMS:
        return None
    data = b"".join(i.to_bytes(_INDEX, "little") for i in order)
    try:
        r, w = os.pipe()
    except OSError:
        return None
    try:
        os.set_blocking(w, False)
        written = os.write(w, data)  # all of it, or the pipe's buffer is too small: deal instead
    except OSError:
        written = -1
    finally:
        os.close(w)
    if written != len(data):
        os.close(r)
        return None
    return r


def _deal(order: Sequence[int], sizes: Sequence[int], workers: int) -> list[list[int]]:
    """Deal the files beforehand: one to each process, then each to the least loaded (share 0 is read here)."""
    shares: list[list[int]] = [[] for _ in range(max(1, workers))]
    loads = [0] + [START_BYTES] * (len(shares) - 1)  # share 0 is read here, at once
    for k, i in enumerate(order):
        w = k if k < len(shares) else loads.index(min(loads))
        shares[w].append(i)
        loads[w] += sizes[i] + 1
    return shares


def _corpus_stats(s: TaskSamples, metrics: Sequence[str]) -> None:
    """Compute the corpus statistics of ``metrics`` into the cache (the caller then reads them there).

    Nothing is kept where the cache is off, and an error is left for the caller to raise.
    """
    if not metrics or not s.cache_key or not enabled():
        return
    from lm_eval_mtl.io.cache import cached_corpus_stats
    from lm_eval_mtl.stats.corpus import DEFAULT_OPTIONS, segment_stats

    for metric in metrics:
        if metric not in s.pairs or metric not in DEFAULT_OPTIONS:
            continue
        refs, preds = s.pairs[metric]

        def compute(
            metric: str = metric, refs: Sequence[str] = refs, preds: Sequence[str] = preds
        ) -> CorpusStats:
            return segment_stats(metric, refs, preds)  # type: ignore[arg-type]

        try:
            cached_corpus_stats(s.cache_key, metric, compute)
        except Exception:  # noqa: BLE001 - the caller computes them again and raises
            pass


def _read_here(request: SamplesRequest, corpus: Sequence[str]) -> TaskSamples | BaseException | None:
    """Read one request of :func:`read_samples_many` in this process (as a worker would)."""
    from lm_eval_mtl.io.samples import read_samples

    path, task, filt, otype = request
    try:
        s = read_samples(path, task=task, filter=filt, output_type=otype)
    except (MTLError, OSError) as err:  # raised where the member is scored, as from a worker
        return err
    except Exception:  # noqa: BLE001 - any other error: the caller reads the file again and raises it
        return None
    _corpus_stats(s, corpus)
    return s


def _rebuild_error(result: _Result) -> BaseException | None:
    """Rebuild a worker's error of bad input (same type, same message); None for any other error."""
    import builtins

    from lm_eval_mtl import errors

    module = errors if result.error_module == "lm_eval_mtl.errors" else builtins
    cls = getattr(module, result.error_type, None)
    if not isinstance(cls, type) or not issubclass(cls, (MTLError, OSError)):
        return None
    try:
        err = cls(result.message)
    except Exception:  # noqa: BLE001 - an error class that takes other arguments: read the file here
        return None
    return err if str(err) == result.message else None


def read_samples_many(
    requests: Sequence[SamplesRequest],
    workers: int,
    corpus: Mapping[SamplesRequest, Sequence[str]] | None = None,
) -> list[TaskSamples | BaseException | None]:
    """Read several samples files in ``workers`` processes: this one and ``workers - 1`` workers.

    The workers are ``python -c`` processes that import only :mod:`lm_eval_mtl.io` (not the
    caller's ``__main__``, as :mod:`multiprocessing`'s spawn and forkserver would: a script
    without an ``if __name__ == "__main__":`` guard would run again in each worker). The files,
    largest first, are taken by turns: each process (this one included, which starts at once)
    takes the next one from a pipe of indices as it finishes one (:func:`_claims`), so a slow
    start or a slow file does not leave the others waiting at the end. Where no such pipe can be
    had (not POSIX, more than :data:`_MAX_CLAIMS` files, a smaller pipe buffer) the files are dealt
    beforehand, one to each process, then each to the least loaded (a worker starts
    :data:`START_BYTES` behind, for its start-up). Each worker
    reads its files with :func:`~lm_eval_mtl.io.samples.read_samples` (the cache included) and
    sends back the arrays in the cache's msgpack layout, so the result is the same in any process.

    ``corpus`` names, per request, corpus metrics (BLEU, chrF, TER) whose segment statistics
    the worker computes into the cache, so that they too are computed in parallel.

    Returns:
        Per request: the samples; the error reading them raised (an :class:`MTLError` or
        :class:`OSError` with the same type and message, to be raised where the samples are
        used); or None where a worker failed otherwise (read that file in this process).
    """
    import subprocess
    import sys

    from lm_eval_mtl.io.samples import samples_from_extract

    out: list[TaskSamples | BaseException | None] = [None] * len(requests)
    sizes = []
    for path, *_ in requests:
        try:
            sizes.append(path.stat().st_size)
        except OSError:
            sizes.append(0)
    wanted = {r: list(m) for r, m in (corpus or {}).items()}
    for i, r in enumerate(requests):  # a file with corpus statistics to compute is slower to serve
        sizes[i] *= 1 + 2 * len(wanted.get(r, ()))
    order = sorted(range(len(requests)), key=lambda i: -sizes[i])
    claims = _claims_pipe(order) if workers > 1 else None
    if claims is not None:  # every process takes the next file as it finishes one
        jobs = [order] * (workers - 1)
        mine: Iterable[int] = _claims(claims)
    else:
        shares = _deal(order, sizes, workers)
        jobs, mine = shares[1:], shares[0]
    import lm_eval_mtl

    env = dict(os.environ)  # the workers import this very lm_eval_mtl, whatever put it on sys.path
    root = str(Path(lm_eval_mtl.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    procs: list[subprocess.Popen[bytes]] = []
    here: set[int] = set()
    with tempfile.TemporaryDirectory(prefix="lm-eval-mtl-workers-") as tmp:
        try:
            for w, share in enumerate(s for s in jobs if s):
                job = _Job(
                    str(samples_folder().parent),
                    enabled(),
                    str(Path(tmp, f"results{w}.bin")),
                    [(i, str(requests[i][0]), *requests[i][1:], wanted.get(requests[i], [])) for i in share],
                    -1 if claims is None else claims,
                )
                job_file = Path(tmp, f"job{w}.msgpack")
                job_file.write_bytes(msgspec.msgpack.encode(job))
                procs.append(
                    subprocess.Popen(
                        [sys.executable, "-c", _WORKER, str(job_file)],
                        stdin=subprocess.DEVNULL,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                        env=env,
                        pass_fds=() if claims is None else (claims,),
                    )
                )
            for i in mine:  # this process's share, while the workers read theirs
                here.add(i)
                out[i] = _read_here(requests[i], wanted.get(requests[i], []))
            for proc in procs:
                proc.wait()
        except Exception:  # noqa: BLE001 - no processes here: the caller reads the files itself
            pass
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            if claims is not None:
                os.close(claims)
        for w in range(len(procs)):
            try:
                data = Path(tmp, f"results{w}.bin").read_bytes()
            except OSError:  # no results: the caller reads those files itself
                continue
            for frame in _frames(data):
                try:
                    result = msgspec.msgpack.decode(frame, type=_Result)
                    i = result.index
                    if not 0 <= i < len(requests) or i in here:
                        continue
                    path, task, filt, _ = requests[i]
                    if result.entry is not None:
                        ext = _from_entry(result.entry)
                        out[i] = samples_from_extract(task, filt, path, ext, result.entry.key)
                    else:
                        out[i] = _rebuild_error(result)
                except Exception:  # noqa: BLE001 - no (usable) result: the caller reads the file itself
                    continue
    return out
