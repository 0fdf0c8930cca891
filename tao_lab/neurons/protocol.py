"""Synapses, the typed messages neurons exchange, and their binary wire format.

A `Synapse` subclass declares request fields (what the caller sends) and response fields (what
the axon fills in). Arrays travel as raw little-endian bytes, never as JSON lists::

    body   = b"TAO1" | u32 LE header length | header (UTF-8 JSON) | zero padding to 8 | arrays
    header = {"synapse": "TextLogProbs",
              "fields": {scalar fields as JSON},
              "arrays": {"token_ids": ["<i4", [16, 128], 0]},     # dtype, shape, offset after the header
              "status": 200, "message": "", "process_time": 0.0}  # responses only

Every array starts at a multiple of 8 bytes, so decoded arrays are aligned views. A request carries
only request fields and a response only response fields, so nothing is sent twice. The signature
covers the blake2b-256 hash of these exact bytes (`tao_lab.neurons.signing`).

Arrays may be given as numpy arrays, nested lists, or torch tensors (converted with
``.detach().cpu().numpy()``; torch is never imported here). Decoded arrays are writable numpy arrays.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InputError, TaoLabError

__all__ = [
    "Embed",
    "Synapse",
    "TextLogProbs",
    "TransportError",
    "decode_request",
    "decode_response",
    "encode_request",
    "encode_response",
    "encode_status",
    "request_field",
    "response_field",
]

MAGIC = b"TAO1"
_PREFIX = struct.Struct("<4sI")
_ALIGN = 8
#: longest JSON header accepted, in bytes (scalar fields travel in it; arrays do not)
MAX_HEADER = 1 << 20
_ROLE = "tao_lab.role"
_DTYPE = "tao_lab.dtype"
_NDIM = "tao_lab.ndim"
#: numpy dtype kinds that may travel: bool, signed and unsigned ints, floats, complex
_WIRE_KINDS = "biufc"


class TransportError(TaoLabError):
    """A request or response could not be carried; ``status`` is the HTTP-style code it maps to.

    The axon turns these into response statuses (401 bad signature, 403 not allowed, 404 no such
    synapse, 408 timeout, 409 replayed nonce, 411 no Content-Length, 413 too large, 422 malformed,
    429 too many for this caller, 500 handler error, 503 busy) and the dendrite reports them on the
    returned synapse; neither lets one escape to the caller. ``retry_after``: seconds after which
    the same request may succeed (429 and 503; sent as the ``Retry-After`` header), else None.
    """

    def __init__(self, status: int, message: str, retry_after: float | None = None):
        self.status = status
        self.retry_after = retry_after
        super().__init__(message)


# ---------------------------------------------------------------------------------------------
# Declaring synapses


def request_field(default: Any = dataclasses.MISSING, *, dtype: str | None = None, ndim: int | None = None) -> Any:
    """A field the caller sends. ``dtype`` (a numpy dtype name such as ``"int32"``) makes it an array
    field: values are converted to that dtype before sending and checked on arrival, as is ``ndim``."""
    return dataclasses.field(default=default, metadata=_spec("request", dtype, ndim))


def response_field(default: Any = None, *, dtype: str | None = None, ndim: int | None = None) -> Any:
    """A field the axon's handler fills in; None until it does. ``dtype`` and ``ndim`` as in `request_field`."""
    return dataclasses.field(default=default, metadata=_spec("response", dtype, ndim))


def _spec(role: str, dtype: str | None, ndim: int | None) -> dict:
    if dtype is not None:
        dt = np.dtype(dtype)
        if dt.kind not in _WIRE_KINDS:
            raise InputError("dtype", f"only numeric and bool arrays travel, not {dt}")
        dtype = dt.newbyteorder("<").str if dt.itemsize > 1 else dt.str
    return {_ROLE: role, _DTYPE: dtype, _NDIM: ndim}


@dataclass(kw_only=True, eq=False)
class Synapse:
    """A typed message: request fields, response fields, and the status of the exchange.

    Subclass it and declare fields with `request_field` and `response_field` (plain annotated
    fields with defaults are request fields); subclasses become dataclasses with keyword-only
    constructors automatically::

        class TextLogProbs(Synapse):
            token_ids: np.ndarray = request_field(dtype="int32", ndim=2)      # (B, T)
            log_probs: np.ndarray | None = response_field(dtype="float32", ndim=2)  # (B, T)

    The axon routes by class name (``TextLogProbs`` is served at ``POST /TextLogProbs``). The
    fields below are set by the transport, not sent by the caller.
    """

    #: 0 before sending; then 200 ok, or 401, 403, 404, 408, 409, 411, 413, 422, 429, 500, 502, 503
    status: int = dataclasses.field(default=0, metadata={_ROLE: "meta"})
    #: why the status is not 200 (empty when it is)
    message: str = dataclasses.field(default="", metadata={_ROLE: "meta"})
    #: SS58 hotkey of the caller (on the axon: verified; on a returned synapse: the dendrite's own)
    caller_hotkey: str = dataclasses.field(default="", metadata={_ROLE: "meta"})
    #: SS58 hotkey of the axon the request was addressed to
    axon_hotkey: str = dataclasses.field(default="", metadata={_ROLE: "meta"})
    #: seconds from sending to the decoded reply, as the dendrite measured it
    elapsed: float = dataclasses.field(default=0.0, metadata={_ROLE: "meta"})
    #: seconds the axon spent on the request (queue + handler), as the axon measured it
    process_time: float = dataclasses.field(default=0.0, metadata={_ROLE: "meta"})

    name: ClassVar[str] = "Synapse"

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__dataclass_fields__" not in cls.__dict__:
            dataclass(cls, kw_only=True, eq=False)
        cls.name = cls.__name__
        cls._request = tuple(_fields_of(cls, "request"))
        cls._response = tuple(_fields_of(cls, "response"))
        cls._required = tuple(f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                              and f.default_factory is dataclasses.MISSING)

    @property
    def ok(self) -> bool:
        """True when the axon answered with status 200."""
        return self.status == 200


def _fields_of(cls, role: str) -> list[tuple[str, str | None, int | None]]:
    out = []
    for f in dataclasses.fields(cls):
        r = f.metadata.get(_ROLE, "request")
        if r == role:
            out.append((f.name, f.metadata.get(_DTYPE), f.metadata.get(_NDIM)))
    return out


class TextLogProbs(Synapse):
    """Score text: the miner returns the log-probability of every token given the ones before it.

    ``log_probs[b, t] = log p(token_ids[b, t] | token_ids[b, :t])`` in nats; position 0 has no
    context and is 0 by convention.
    """

    token_ids: np.ndarray = request_field(dtype="int32", ndim=2)  # (B, T)
    log_probs: np.ndarray | None = response_field(dtype="float32", ndim=2)  # (B, T)


class NextToken(Synapse):
    """Predict the next token: the miner returns its log-distribution over the vocabulary.

    Validators score with this one: the target token is not in the request, so a miner cannot
    claim certainty about a token it has seen, and the validator renormalises the answer itself.
    """

    context_ids: np.ndarray = request_field(dtype="int32", ndim=2)  # (B, T)
    log_probs: np.ndarray | None = response_field(dtype="float32", ndim=2)  # (B, V)


class ClassLogProbs(Synapse):
    """Classify examples: the miner returns the log-probability of every class for each example."""

    features: np.ndarray = request_field(dtype="float32", ndim=2)  # (B, F)
    log_probs: np.ndarray | None = response_field(dtype="float32", ndim=2)  # (B, C)


class Embed(Synapse):
    """Embed texts: the miner returns one vector per text."""

    texts: list = request_field()  # B strings
    embeddings: np.ndarray | None = response_field(dtype="float32", ndim=2)  # (B, D)


# ---------------------------------------------------------------------------------------------
# Encoding


def _as_array(name: str, value: Any, dtype: str | None, ndim: int | None) -> np.ndarray:
    """numpy array, nested list or torch tensor -> a C-contiguous little-endian numpy array."""
    if hasattr(value, "detach") and hasattr(value, "cpu") and not isinstance(value, np.ndarray):  # torch.Tensor
        t = value.detach().cpu()
        if str(t.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            t = t.float()
        value = t.numpy()
    arr = np.asarray(value, dtype=dtype)
    if arr.dtype.kind not in _WIRE_KINDS:
        raise InputError(name, f"only numeric and bool arrays travel, got dtype {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise InputError(name, f"expected {ndim} dimensions, got shape {arr.shape}")
    if arr.dtype.byteorder == ">":
        arr = arr.astype(arr.dtype.newbyteorder("<"))
    return np.ascontiguousarray(arr)


def _json_default(value: Any):
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _encode(name: str, synapse: Synapse | None, fields, extra: dict) -> bytes:
    scalars, arrays, chunks, offset = {}, {}, [], 0
    for field, dtype, ndim in fields:
        value = getattr(synapse, field)
        if value is None:
            continue
        if dtype is not None or isinstance(value, np.ndarray) or hasattr(value, "detach"):
            arr = _as_array(field, value, dtype, ndim)
            arrays[field] = [arr.dtype.str, list(arr.shape), offset]
            chunks.append(arr.reshape(-1).view(np.uint8))
            offset += arr.nbytes
            pad = -offset % _ALIGN
            if pad:
                chunks.append(bytes(pad))
                offset += pad
        else:
            scalars[field] = value
    header = {"synapse": name, "fields": scalars, "arrays": arrays, **extra}
    try:
        hb = json.dumps(header, separators=(",", ":"), default=_json_default).encode()
    except (TypeError, ValueError) as e:
        raise InputError(name, f"a field is neither an array nor JSON-serialisable: {e}") from e
    hb += b" " * (-(len(hb) + _PREFIX.size) % _ALIGN)  # arrays start 8-aligned
    return b"".join([_PREFIX.pack(MAGIC, len(hb)), hb, *chunks])


def encode_request(synapse: Synapse) -> bytes:
    """The request body of ``synapse``: its request fields. Raises `InputError` for a field that cannot travel."""
    _check_synapse(synapse)
    return _encode(synapse.name, synapse, synapse._request, {})


def encode_response(synapse: Synapse, status: int = 200, message: str = "", process_time: float = 0.0) -> bytes:
    """The response body: ``synapse``'s response fields (none unless status is 200) and the status."""
    _check_synapse(synapse)
    extra = {"status": int(status), "message": str(message), "process_time": float(process_time)}
    return _encode(synapse.name, synapse, synapse._response if status == 200 else (), extra)


def encode_status(synapse_name: str, status: int, message: str, process_time: float = 0.0) -> bytes:
    """A response body that carries only a status and its message (a refused or failed request)."""
    extra = {"status": int(status), "message": str(message), "process_time": float(process_time)}
    return _encode(synapse_name, None, (), extra)


def _check_synapse(synapse) -> None:
    if not isinstance(synapse, Synapse) or type(synapse) is Synapse:
        raise InputError("synapse", f"expected an instance of a Synapse subclass, got {type(synapse).__name__}")


# ---------------------------------------------------------------------------------------------
# Decoding


def _parse(body: bytes | bytearray, expected: str) -> tuple[dict, memoryview]:
    if len(body) < _PREFIX.size:
        raise TransportError(422, f"body of {len(body)} bytes is too short for a {expected} message")
    magic, hlen = _PREFIX.unpack_from(body)
    if magic != MAGIC:
        raise TransportError(422, f"body does not start with {MAGIC!r}: not a tao_lab message")
    start = _PREFIX.size + hlen
    if hlen > MAX_HEADER:
        raise TransportError(422, f"header of {hlen} bytes is over the {MAX_HEADER}-byte limit; send large "
                                  f"values as array fields")
    if start > len(body):
        raise TransportError(422, f"header length {hlen} runs past the {len(body)}-byte body")
    try:
        header = json.loads(bytes(body[_PREFIX.size:start]))
    except (ValueError, RecursionError) as e:  # RecursionError: JSON nested thousands deep
        raise TransportError(422, f"header is not JSON that can be read: {type(e).__name__}: {e}"[:300]) from None
    if not isinstance(header, dict) or header.get("synapse") != expected:
        got = header.get("synapse") if isinstance(header, dict) else header
        raise TransportError(422, f"expected a {expected} message, got {got!r}")
    if isinstance(body, bytearray):  # already ours and writable (the axon reads bodies into one): no copy
        return header, memoryview(body)[start:]
    # a writable copy of the array region, so handlers may modify arrays in place
    return header, memoryview(bytearray(body[start:]))


def _fill(synapse: Synapse, header: dict, data: memoryview, fields) -> None:
    specs = {name: (dtype, ndim) for name, dtype, ndim in fields}
    scalars, arrays = header.get("fields", {}), header.get("arrays", {})
    if not isinstance(scalars, dict) or not isinstance(arrays, dict):
        raise TransportError(422, "header 'fields' and 'arrays' must be objects")
    for name, value in scalars.items():
        if name not in specs:
            raise TransportError(422, f"{synapse.name} has no field {name!r} here")
        if specs[name][0] is not None:
            raise TransportError(422, f"field {name!r} must travel as an array")
        setattr(synapse, name, value)
    for name, entry in arrays.items():
        if name not in specs:
            raise TransportError(422, f"{synapse.name} has no field {name!r} here")
        setattr(synapse, name, _array(name, entry, data, *specs[name]))


def _array(name: str, entry, data: memoryview, dtype: str | None, ndim: int | None) -> np.ndarray:
    try:
        dstr, shape, offset = entry
        if not isinstance(dstr, str) or not isinstance(shape, list) or len(shape) > 32:
            raise TypeError("expected [dtype string, shape list of at most 32 dimensions, offset]")
        if not all(type(s) is int for s in shape) or type(offset) is not int:  # not True, 2.5 or "3"
            raise TypeError("shape and offset must be integers")
        dt = np.dtype(dstr)
        shape = tuple(shape)
    except (TypeError, ValueError) as e:
        raise TransportError(422, f"array {name!r}: bad entry {str(entry)[:100]} ({e})") from None
    if dt.kind not in _WIRE_KINDS or dt.byteorder == ">" or any(s < 0 for s in shape) or offset < 0:
        raise TransportError(422, f"array {name!r}: dtype {dstr!r}, shape {shape}, offset {offset} not allowed")
    if offset % _ALIGN:
        raise TransportError(422, f"array {name!r}: offset {offset} is not a multiple of {_ALIGN} (arrays are "
                                  f"{_ALIGN}-byte aligned)")
    if dtype is not None and dt.str != dtype:
        raise TransportError(422, f"array {name!r}: expected dtype {np.dtype(dtype)}, got {dt}")
    if ndim is not None and len(shape) != ndim:
        raise TransportError(422, f"array {name!r}: expected {ndim} dimensions, got shape {shape}")
    count = math.prod(shape)  # Python ints: a shape whose product overflows int64 is caught below, not wrapped
    if offset + count * dt.itemsize > len(data):
        raise TransportError(422, f"array {name!r} of shape {shape} ({count} elements) runs past the end of the "
                                  f"{len(data)}-byte array region")
    try:
        return np.frombuffer(data, dtype=dt, count=count, offset=offset).reshape(shape)
    except ValueError as e:  # e.g. an empty array with a dimension numpy cannot index
        raise TransportError(422, f"array {name!r} of shape {shape}: {e}") from None


def decode_request(synapse_type: type[Synapse], body: bytes | bytearray) -> Synapse:
    """A new ``synapse_type`` from a request body. Raises `TransportError` (422) for a malformed body.

    A ``bytearray`` body is used in place (its arrays are views of it); ``bytes`` are copied once.
    """
    header, data = _parse(body, synapse_type.name)
    for key in ("status", "message", "process_time"):
        if key in header:
            raise TransportError(422, f"a request may not carry {key!r}")
    defaults = {name: None for name, _, _ in synapse_type._request}
    try:
        synapse = synapse_type(**defaults)  # required fields are filled from the body below
    except TypeError as e:
        raise TransportError(422, f"cannot build {synapse_type.name}: {e}") from None
    _fill(synapse, header, data, synapse_type._request)
    missing = [name for name in synapse_type._required if getattr(synapse, name) is None]
    if missing:
        raise TransportError(422, f"{synapse_type.name} request lacks required field(s) {', '.join(missing)}")
    return synapse


def decode_response(synapse: Synapse, body: bytes) -> None:
    """Fill ``synapse`` in place from a response body: status, message, process time, response fields."""
    header, data = _parse(body, synapse.name)
    try:
        synapse.status = int(header["status"])
        synapse.message = str(header.get("message", ""))
        synapse.process_time = float(header.get("process_time", 0.0))
    except (KeyError, TypeError, ValueError) as e:
        raise TransportError(422, f"response header lacks a valid status: {e}") from None
    _fill(synapse, header, data, synapse._response)
