"""Runtime APIs: ``state_call`` methods declared once, for metadata V15 and for dispatch.

A real Substrate runtime exports functions such as ``NeuronInfoRuntimeApi_get_neurons_lite``;
a client calls them with ``state_call(name, SCALE(params))`` and decodes the SCALE result with the
output type that metadata V15's ``apis`` section names. Here each method is declared once with
`api_method` (name, parameters and output as `tao_lab.chain.scale` types, docs, implementation),
grouped in a `RuntimeApi`; `tao_lab.chain.metadata` writes the declarations into V15 and `call`
decodes the parameters, runs the implementation on the queried block's state and encodes the result
with the same types, so what the metadata promises is what the node answers.

The declarations live in `tao_lab.chain.apis` (one module per subtensor API).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import TaoLabError
from .pallet import blake2_256
from .scale import CodecError, ScaleType

__all__ = ["ApiCtx", "ApiMethod", "RuntimeApi", "RuntimeApiNotFound", "api_method", "runtime_apis", "call",
           "api_id"]


class RuntimeApiNotFound(TaoLabError, KeyError):
    """``state_call`` named a method the runtime does not export."""

    def __init__(self, method: str):
        self.method = method
        super().__init__(f"the runtime exports no method {method!r}")


@dataclass
class ApiCtx:
    """What a runtime API implementation reads: the state after ``block_number`` and the runtime."""

    state: object
    runtime: object
    block_number: int

    def pallet(self, name: str):
        return self.runtime.pallet(name)


@dataclass
class ApiMethod:
    """One exported function: ``fn(ctx, **params) -> value of output``."""

    name: str
    params: list[tuple[str, ScaleType]]
    output: ScaleType
    fn: Callable
    docs: str = ""


@dataclass
class RuntimeApi:
    """A runtime API trait (``decl_runtime_apis!``): its name, version and methods."""

    name: str
    methods: list[ApiMethod]
    docs: str = ""
    version: int = 1
    by_name: dict[str, ApiMethod] = field(init=False, repr=False)

    def __post_init__(self):
        self.by_name = {m.name: m for m in self.methods}


def api_method(name: str, params: list[tuple[str, ScaleType]], output: ScaleType, docs: str = ""):
    """Declare the decorated function as runtime API method ``name``."""

    def mark(fn):
        return ApiMethod(name, list(params), output, fn, docs or (fn.__doc__ or "").strip())

    return mark


def api_id(name: str) -> bytes:
    """The 8-byte id of an API in ``RuntimeVersion.apis``: the first bytes of blake2_256(name)."""
    return blake2_256(name.encode())[:8]


def runtime_apis() -> list[RuntimeApi]:
    """Every runtime API the devnet exports, in metadata order."""
    from .apis import RUNTIME_APIS

    return RUNTIME_APIS


def _index() -> dict[str, ApiMethod]:
    global _BY_CALL_NAME
    if _BY_CALL_NAME is None:
        _BY_CALL_NAME = {f"{api.name}_{m.name}": m for api in runtime_apis() for m in api.methods}
    return _BY_CALL_NAME


_BY_CALL_NAME: dict[str, ApiMethod] | None = None


def call(ctx: ApiCtx, name: str, data: bytes) -> bytes:
    """Run ``<Api>_<method>`` on SCALE-encoded ``data``; the SCALE-encoded result.

    Raises `RuntimeApiNotFound` for an unknown name and `CodecError` for parameters that do not
    decode as declared (trailing bytes included).
    """
    method = _index().get(name)
    if method is None:
        raise RuntimeApiNotFound(name)
    args, pos = {}, 0
    for pname, ty in method.params:
        args[pname], pos = ty.decode_at(data, pos)
    if pos != len(data):
        raise CodecError(f"{name} takes {pos} bytes of parameters, got {len(data)}")
    return method.output.encode(method.fn(ctx, **args))
