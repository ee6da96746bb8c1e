"""The routes of the server extension. Each request is checked against the root folder on arrival (nbextract.jupyter
.paths); the conversion itself runs in a worker process (nbextract.jupyter.jobs), which checks the paths again at the
moment of use. Every reply is JSON; an error is `{"message": one line}`, quoting nothing of any file.

- `POST /nbextract/convert` `{"path", "name", "output", "force", "input_var", "output_var", "execute"}` (only `path`
  is required) converts and answers when done: 200 `{"output", "report", "manifest"}`; 400 bad request (not JSON,
  missing or mistyped field, invalid package name, an output folder that holds the notebook, a path the file system
  refuses); 403 not logged in, not allowed to write, or a path or template folder outside the root folder; 404 no
  such notebook; 409 the output exists and `force` is false (or it is a file, or another job writes it); 422 read but
  cannot be converted; 500 a bug of nbextract's.
- `POST /nbextract/jobs` (the same body) starts the conversion and answers 202 with the job, or the same refusals.
- `GET /nbextract/jobs/ID`: the job: `{"id", "state", "progress": {"done", "total", "label"}, "status", ...}`, with
  the fields of the answer above once it is done or failed; `DELETE /nbextract/jobs/ID` cancels it (nothing written).
- `POST /nbextract/check` `{"path", "name", "output"}`: 200 `{"name": problem, "output": problem, "exists": bool}`
  (problems are one line, or null), for the dialog to validate as the user types.
- `POST /nbextract/analyze` `{"path"}`: 200 `{"variables": [{"name", "origin"}]}`, the variables the source binds
  (where each is last bound), the candidates for the input and output.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from . import jobs
from .messages import os_message, one_line
from .paths import ConvertRequest, Refused, conflict, out_of, package_of, parse_request, resolve_target, source_of


class NbextractHandler(APIHandler):
    auth_resource = "contents"

    @property
    def root(self) -> Path:
        return Path(self.settings["server_root_dir"]).resolve()

    def started(self) -> jobs.Job | None:
        """The job converting what this request asks; None when the request was refused (and answered)."""
        try:
            return jobs.start(resolve_target(parse_request(self.request.body), self.root), self.log)
        except (Refused, OSError) as refusal:
            self.refused(refusal)
            return None

    def refused(self, refusal: Refused | OSError) -> None:
        status = refusal.status if isinstance(refusal, Refused) else 400
        self.reply(status, {"message": message_of(refusal, self.root)})

    def reply(self, status: int, body: dict) -> None:
        """Finish with JSON; a message is made one line."""
        if isinstance(body.get("message"), str):
            body = {**body, "message": one_line(body["message"])}
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(body, default=str))


class ConvertHandler(NbextractHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        job = self.started()
        if job is not None and job.task is not None:
            await asyncio.shield(job.task)
            self.reply(*answer_of(job.view()))


def answer_of(view: dict) -> tuple[int, dict]:
    """A finished job's view as POST /nbextract/convert answers it (a cancelled job: 409)."""
    if view["state"] == "cancelled":
        return 409, {"message": "the conversion was cancelled; nothing was written"}
    fields = ("output", "report", "manifest") if view["status"] == 200 else ("message",)
    return view["status"], {field: view[field] for field in fields}


class JobsHandler(NbextractHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        job = self.started()
        if job is not None:
            self.reply(202, job.view())


class JobHandler(NbextractHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = self.job(job_id)
        if job is not None:
            self.reply(200, job.view())

    @tornado.web.authenticated
    @authorized
    async def delete(self, job_id: str) -> None:
        job = self.job(job_id)
        if job is not None:
            await jobs.cancel(job)
            self.reply(200, job.view())

    def job(self, job_id: str) -> jobs.Job | None:
        job = jobs.JOBS.get(job_id)
        if job is None:
            self.reply(404, {"message": f"no conversion job {job_id}"})
        return job


class CheckHandler(NbextractHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            request = parse_request(self.request.body)
            source = source_of(request, self.root)
        except (Refused, OSError) as refusal:
            return self.refused(refusal)
        self.reply(200, checked(request, source, self.root))


def checked(request: ConvertRequest, source: Path, root: Path) -> dict:
    """What the dialog shows under its fields: the name's problem, the output folder's, and whether it exists."""
    try:
        package_of(request, source)
    except Refused as refusal:
        return {"name": refusal.message, "output": None, "exists": False}
    try:
        out = out_of(request, root, source)
    except (Refused, OSError) as refusal:
        return {"name": None, "output": message_of(refusal, root), "exists": False}
    return {"name": None, "output": conflict(out, request.force, root), "exists": out.is_dir()}


def message_of(refusal: Refused | OSError, root: Path) -> str:
    return refusal.message if isinstance(refusal, Refused) else os_message(refusal, root)


class AnalyzeHandler(NbextractHandler):
    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            request = parse_request(self.request.body)
            source_of(request, self.root)
        except (Refused, OSError) as refusal:
            return self.refused(refusal)
        final = await jobs.run_worker({"root": str(self.root), "path": request.path, "mode": "analyze"}, self.root)
        final = final or jobs.stopped(None)
        self.reply(final.pop("status"), {key: value for key, value in final.items() if key != "log"})
