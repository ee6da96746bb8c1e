"""Conversions as jobs, each run by a worker process (nbextract.jupyter.worker), at most WORKERS at a time: the
server's event loop only waits on their pipes. A job reports its progress, and can be cancelled: its worker is
stopped (SIGTERM, which rolls the write back; SIGKILL after a grace period) and whatever a killed worker left beside
OUT (the staging and run folders, folders it created) is removed, so a cancelled conversion writes nothing."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import glob
import itertools
import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path

from ..write import missing_ancestor
from .messages import redacted, relative
from .paths import Refused, Target

WORKERS = asyncio.Semaphore(2)
KEPT = 50  # finished jobs kept for GET /nbextract/jobs/ID
GRACE = 10  # seconds a cancelled worker has to roll back before it is killed
LINE_LIMIT = 2**26
JOBS: dict[str, Job] = {}
NUMBERS = itertools.count(1)


def worker_command() -> list[str]:
    return [sys.executable, "-m", "nbextract.jupyter.worker"]


@dataclasses.dataclass
class Job:
    id: str
    target: Target
    state: str = "queued"  # queued, running, done, failed, cancelled
    progress: tuple[int, int, str] = (0, 0, "waiting for a worker")
    status: int | None = None
    reply: dict = dataclasses.field(default_factory=dict)
    process: asyncio.subprocess.Process | None = None
    task: asyncio.Task | None = None
    cancelling: bool = False

    def view(self) -> dict:
        done, total, label = self.progress
        return {
            "id": self.id,
            "state": self.state,
            "progress": {"done": done, "total": total, "label": label},
            "status": self.status,
            **self.reply,
        }


def start(target: Target, log: logging.Logger) -> Job:
    """A new job converting `target`, logging what the server's log should say; Refused(409) while another job
    writes the same OUT."""
    if any(job.target.out == target.out and job.state in ("queued", "running") for job in JOBS.values()):
        raise Refused(409, f"{relative(target.out, target.root)}: a conversion into this folder is already running")
    job = Job(str(next(NUMBERS)), target)
    JOBS[job.id] = job
    job.task = asyncio.ensure_future(run(job, log))
    forget_old_jobs()
    return job


def forget_old_jobs() -> None:
    finished = [key for key, job in JOBS.items() if job.state not in ("queued", "running")]
    for key in finished[: max(0, len(finished) - KEPT)]:
        del JOBS[key]


async def run(job: Job, log: logging.Logger) -> None:
    target = job.target
    created = missing_ancestor(target.out.parent)
    async with WORKERS:
        if job.cancelling:
            job.state = "cancelled"
            return
        job.state = "running"
        final = await run_worker({**target.worker_request(), "mode": "convert"}, target.root, job)
    process = job.process
    assert process is not None, "run_worker started the job's worker"
    if final is None or (job.cancelling and final["status"] != 200):
        remove_leftovers(target.out, process.pid, created)
    if job.cancelling and (final is None or final["status"] != 200):
        job.state, job.progress = "cancelled", (0, 0, "cancelled; nothing was written")
        return
    finish(job, final or stopped(process.returncode), log)


def finish(job: Job, final: dict, log: logging.Logger) -> None:
    """Record the worker's answer: a converted OUT may still arrive after a cancel, and is then done all the same."""
    root, out = job.target.root, job.target.out
    job.status = final.pop("status")
    job.state = "done" if job.status == 200 else "failed"
    if job.status == 200:
        job.reply = {"output": relative(out, root), "report": relative(out / "CONVERSION.md", root), **final}
        log.info(redacted(f"nbextract: converted {relative(job.target.source, root)} into {relative(out, root)}"))
    else:
        job.reply = {"message": final["message"]}
    if final.get("log"):
        log.error(final["log"])


def stopped(code: int | None) -> dict:
    return {
        "status": 500,
        "message": f"the conversion's worker process stopped (exit status {code}); nothing was written",
    }


async def run_worker(request: dict, root: Path, job: Job | None = None) -> dict | None:
    """Run one worker in `root` on `request`; its final answer, or None when it stopped without one."""
    process = await asyncio.create_subprocess_exec(
        *worker_command(),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=root,
        start_new_session=True,
        limit=LINE_LIMIT,
    )
    if job is not None:
        job.process = process
    assert process.stdin is not None and process.stdout is not None, "both are pipes"
    process.stdin.write(json.dumps(request).encode())
    process.stdin.close()
    final = None
    async for line in process.stdout:
        message = json.loads(line)
        if "progress" in message and job is not None:
            job.progress = tuple(message["progress"])
        elif "status" in message:
            final = message
    await process.wait()
    return final


async def cancel(job: Job) -> None:
    """Stop the job: a queued one never starts, a running one's worker is stopped and what it left removed."""
    if job.state not in ("queued", "running"):
        return
    job.cancelling = True
    job.progress = (*job.progress[:2], "cancelling")
    if job.process is not None and job.process.returncode is None:
        job.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(job.process.wait()), GRACE)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(job.process.pid, signal.SIGKILL)
    if job.task is not None:
        await asyncio.shield(job.task)


def remove_leftovers(out: Path, pid: int, created: Path | None) -> None:
    """What a stopped worker may have left beside OUT: its staging (`.NAME.*.tmp`) and run (`.NAME.run.*`) folders,
    the OUT it had set aside (`.NAME.PID.old`, put back), and the folders it created above OUT when they are empty."""
    prefix = glob.escape(f".{out.name}.")
    for leftover in [*out.parent.glob(f"{prefix}*.tmp"), *out.parent.glob(f"{prefix}run.*")]:
        shutil.rmtree(leftover, ignore_errors=True)
    retired = out.with_name(f".{out.name}.{pid}.old")
    if retired.exists() and not os.path.lexists(out):
        retired.rename(out)
    elif retired.exists():
        shutil.rmtree(retired, ignore_errors=True)
    if created is None:
        return
    for folder in [out.parent, *out.parent.parents]:
        if not folder.is_relative_to(created):
            break
        with contextlib.suppress(OSError):
            folder.rmdir()
