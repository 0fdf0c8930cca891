"""The REST API under ``/tao-lab/api/``: what the TAO Lab sidebar reads and does (docs/server.md).

Every handler is a jupyter_server `APIHandler` behind ``@tornado.web.authenticated``: the server's
token (or a logged-in session with its XSRF check, as for Jupyter's own ``/api/``) is needed on
every route. Anything that blocks (a chain read, the devnet starting, nvidia-smi, the registry's
files) runs in a thread pool, never on the server's event loop. Errors are JSON,
``{"error": "what was wrong and what to do"}``, with a 4xx status for a bad request and 502 for a
node that does not answer.
"""

from __future__ import annotations

import json
import math
import os
import posixpath
from concurrent.futures import ThreadPoolExecutor

from jupyter_core.utils import ensure_async
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import IOLoop

from .. import __version__
from ..notebooks import TEMPLATES, template
from . import registry
from .chains import ChainReader, ChainUnavailable, UnknownSubnet, chains, find_chain, known_neurons
from .gpus import gpus
from .shared import DevnetNotRunning, DevnetRunning, SharedDevnet

__all__ = ["setup_handlers", "ServerState", "ApiError"]

MAX_BLOCK_TIME_S = 3600.0
MIN_BLOCK_TIME_S = 0.01
MAX_EVENTS = registry.EVENTS_KEPT


class ApiError(web.HTTPError):
    """A request the API refuses: ``status`` and a message saying what to do."""

    def __init__(self, status: int, message: str):
        super().__init__(status)
        self.message = message


class ServerState:
    """What the handlers share: the registry folder, the shared devnet, chain connections, a thread pool."""

    def __init__(self, directory):
        self.directory = directory
        self.devnet = SharedDevnet(directory)
        self.reader = ChainReader()
        self.executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tao-lab-api")

    def entries(self) -> list[dict]:
        return registry.entries(self.directory)


class _Handler(APIHandler):
    @property
    def state(self) -> ServerState:
        return self.settings["tao_lab"]

    async def blocking(self, fn, *args):
        """``fn(*args)`` in the thread pool, awaited."""
        return await IOLoop.current().run_in_executor(self.state.executor, fn, *args)

    def reply(self, obj, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(obj, default=str))

    def json_body(self) -> dict:
        raw = self.request.body or b"{}"
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(400, "the body is not JSON; send a JSON object such as {}") from None
        if not isinstance(body, dict):
            raise ApiError(400, f"the body must be a JSON object, got {type(body).__name__}")
        return body

    def int_argument(self, name: str, default: int | None, low: int, high: int) -> int:
        raw = self.get_query_argument(name, None)
        if raw is None:
            if default is None:
                raise ApiError(400, f"the query argument {name!r} is required (an integer {low}..{high})")
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(400, f"{name} must be an integer {low}..{high}, got {raw!r}") from None
        if not low <= value <= high:
            raise ApiError(400, f"{name} must be an integer {low}..{high}, got {value}")
        return value

    def write_error(self, status_code: int, **kwargs) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            message = exc.message
        elif status_code in (401, 403):
            message = ("forbidden: send the Jupyter server's token (header 'Authorization: token <token>'), "
                       "or log in and send the _xsrf cookie with POST and DELETE")
        else:
            message = f"{self._reason}: {exc}" if exc is not None and status_code >= 500 else self._reason
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"error": message}))

    async def chain_url(self, cid: str) -> str:
        url = find_chain(cid, await self.blocking(self.state.entries))
        if url is None:
            raise ApiError(404, f"no chain {cid!r} on this server; GET /tao-lab/api/chains lists them")
        return url


class StatusHandler(_Handler):
    @web.authenticated
    async def get(self):
        entries = await self.blocking(self.state.entries)
        self.reply({"version": __version__, "devnet": await self.blocking(self.state.devnet.state),
                    "chains": chains(entries), "labs": entries, "gpus": await self.blocking(gpus)})


class LabsHandler(_Handler):
    @web.authenticated
    async def get(self):
        self.reply(await self.blocking(self.state.entries))


class DevnetHandler(_Handler):
    @web.authenticated
    async def get(self):
        self.reply(await self.blocking(self.state.devnet.state))

    @web.authenticated
    async def post(self):
        body = self.json_body()
        unknown = sorted(set(body) - {"block_time", "port"})
        if unknown:
            raise ApiError(400, f"unknown field(s) {unknown}; the body takes block_time (seconds) and port")
        block_time = body.get("block_time", 0.25)
        if (isinstance(block_time, bool) or not isinstance(block_time, (int, float)) or not math.isfinite(block_time)
                or not MIN_BLOCK_TIME_S <= block_time <= MAX_BLOCK_TIME_S):
            raise ApiError(400, f"block_time must be seconds between {MIN_BLOCK_TIME_S} and {MAX_BLOCK_TIME_S:g}, "
                                f"got {block_time!r}")
        port = body.get("port", 0)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ApiError(400, f"port must be an integer 0..65535 (0: any free port), got {port!r}")
        try:
            state = await self.blocking(self.state.devnet.start, float(block_time), port)
        except DevnetRunning as exc:
            raise ApiError(409, str(exc)) from None
        except Exception as exc:
            raise ApiError(500, f"the devnet did not start: {exc}") from None
        self.reply(state, 201)

    @web.authenticated
    async def delete(self):
        try:
            await self.blocking(self.state.devnet.stop)
        except DevnetNotRunning as exc:
            raise ApiError(404, str(exc)) from None
        self.reply(self.state.devnet.state(with_block=False))


class ChainsHandler(_Handler):
    @web.authenticated
    async def get(self):
        rows = chains(await self.blocking(self.state.entries))
        await self.blocking(self.state.reader.forget_missing, [r["url"] for r in rows])
        self.reply(rows)


class ChainHandler(_Handler):
    @web.authenticated
    async def get(self, cid: str):
        url = await self.chain_url(cid)
        try:
            detail = await self.blocking(self.state.reader.detail, url)
        except ChainUnavailable as exc:
            raise ApiError(502, str(exc)) from None
        self.reply({"id": cid, "url": url, **detail})


class NeuronsHandler(_Handler):
    @web.authenticated
    async def get(self, cid: str):
        netuid = self.int_argument("netuid", None, 0, 65535)
        url = await self.chain_url(cid)
        known = known_neurons(await self.blocking(self.state.entries), url, netuid)
        try:
            rows = await self.blocking(self.state.reader.neurons, url, netuid, known)
        except UnknownSubnet as exc:
            raise ApiError(404, f"{exc}; GET /tao-lab/api/chains/{cid} lists its subnets") from None
        except ChainUnavailable as exc:
            raise ApiError(502, str(exc)) from None
        self.reply(rows)


class EventsHandler(_Handler):
    @web.authenticated
    async def get(self):
        lab = self.get_query_argument("lab", None)
        if not lab:
            raise ApiError(400, "the query argument 'lab' (a lab id from GET /tao-lab/api/labs) is required")
        limit = self.int_argument("limit", 100, 1, MAX_EVENTS)
        if await self.blocking(registry.entry, lab, self.state.directory) is None:
            raise ApiError(404, f"no lab {lab!r} runs on this server; GET /tao-lab/api/labs lists them")
        self.reply(await self.blocking(registry.events, lab, limit, self.state.directory))


class GpusHandler(_Handler):
    @web.authenticated
    async def get(self):
        self.reply(await self.blocking(gpus))


class NeuronCommandHandler(_Handler):
    @web.authenticated
    async def post(self, lab_id: str, name: str, op: str):
        e = await self.blocking(registry.entry, lab_id, self.state.directory)
        if e is None:
            raise ApiError(404, f"no lab {lab_id!r} runs on this server; GET /tao-lab/api/labs lists them")
        if e.get("kind") != "lab":
            raise ApiError(400, f"{lab_id!r} is a {e.get('kind')}, not a lab: it runs no neurons")
        names = [n.get("name") for n in e.get("neurons") or []]
        if name not in names:
            raise ApiError(404, f"lab {lab_id!r} runs no neuron {name!r}; its neurons: {names}")
        queued = await self.blocking(registry.send_command, lab_id, op, name, self.state.directory)
        self.reply({"queued": queued}, 202)


def _check_path(path) -> str:
    """A notebook path relative to the server's root, or ApiError(400)."""
    if not isinstance(path, str) or not path.strip():
        raise ApiError(400, f"path must be a non-empty string such as 'labs/my lab.ipynb', got {path!r}")
    if path.startswith("/") or "\\" in path or "\x00" in path or os.path.isabs(path):
        raise ApiError(400, f"path must be relative to the server's root, with '/' between folders: {path!r}")
    parts = path.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ApiError(400, f"path may not contain '..', '.' or empty folder names: {path!r}")
    if any(p.startswith(".") for p in parts):
        raise ApiError(400, f"path may not name hidden files or folders: {path!r}")
    if not path.endswith(".ipynb"):
        raise ApiError(400, f"a notebook path ends in .ipynb: {path!r}")
    return path


class NotebooksHandler(_Handler):
    @web.authenticated
    async def post(self):
        body = self.json_body()
        unknown = sorted(set(body) - {"template", "path"})
        if unknown:
            raise ApiError(400, f"unknown field(s) {unknown}; the body takes template and path")
        name = body.get("template")
        if name not in TEMPLATES:
            raise ApiError(400, f"template must be one of {sorted(TEMPLATES)}, got {name!r}")
        cm = self.contents_manager
        if body.get("path") is not None:
            path = _check_path(body["path"])
            folder = posixpath.dirname(path)
            if folder and not await ensure_async(cm.dir_exists(folder)):
                raise ApiError(400, f"the folder {folder!r} does not exist in the server's root; create it first")
            if await ensure_async(cm.file_exists(path)) or await ensure_async(cm.dir_exists(path)):
                raise ApiError(409, f"{path!r} exists already; choose another path, or send none for a free name")
        else:
            stem = TEMPLATES[name][1]
            path = f"{stem}.ipynb"
            i = 0
            while await ensure_async(cm.file_exists(path)) or await ensure_async(cm.dir_exists(path)):
                i += 1
                path = f"{stem} {i}.ipynb"
        nb = template(name)
        await ensure_async(cm.save({"type": "notebook", "format": "json", "content": nb}, path))
        self.reply({"path": path}, 201)


def setup_handlers(serverapp) -> ServerState:
    """Add the API's routes to ``serverapp.web_app``; returns the state the handlers share."""
    explicit = os.environ.get("TAO_LAB_REGISTRY_DIR")
    directory = explicit or os.path.join(serverapp.runtime_dir, "tao-lab")
    # Kernels and terminals inherit the server's environment: this makes them publish where this
    # server reads, even when its runtime dir came from the command line rather than JUPYTER_RUNTIME_DIR.
    os.environ["TAO_LAB_REGISTRY_DIR"] = directory
    state = ServerState(directory)
    web_app = serverapp.web_app
    web_app.settings["tao_lab"] = state
    base = url_path_join(web_app.settings["base_url"], "tao-lab", "api")
    part = r"([A-Za-z0-9_\-]+)"
    routes = [
        ("status", StatusHandler), ("labs", LabsHandler), ("devnet", DevnetHandler), ("chains", ChainsHandler),
        (f"chains/{part}", ChainHandler), (f"chains/{part}/neurons", NeuronsHandler), ("events", EventsHandler),
        ("gpus", GpusHandler), (f"labs/{part}/neurons/{part}/(stop|restart)", NeuronCommandHandler),
        ("notebooks", NotebooksHandler),
    ]
    web_app.add_handlers(".*$", [(url_path_join(base, path), handler) for path, handler in routes])
    serverapp.log.info("tao_lab server extension: REST API at %s, registry %s", base, directory)
    return state
