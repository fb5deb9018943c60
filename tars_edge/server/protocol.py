"""The wire format: JSON-RPC 2.0, one UTF-8 JSON object per line (docs/api.md).

Dependency-free on purpose: the same reader/writer serves the daemon, the CLI client and a
user's own ten-line script. Batches are not accepted (one object per line is the whole
protocol); params are always an object (by name).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

JSONRPC = "2.0"

# Standard codes
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# Application codes (docs/api.md)
LINE_TOO_LONG = -32000  # the line exceeded max_line_bytes; the connection is closed
BUSY = -32001  # too many connections, or too many requests in flight on this one
TIMEOUT = -32002  # the request ran longer than request_timeout_s
SHUTTING_DOWN = -32003  # the daemon is stopping; retry after it restarts
CORE_UNAVAILABLE = -32010  # the question needs the core model and the bundle has none
MEMORY_UNAVAILABLE = -32011  # memory is disabled (no embedder, damaged database, config)
NOT_FOUND = -32012  # no memory / timer / session with this id
ACTION_FAILED = -32013  # reserved: a device action's command failed (ask replies say so)

ERROR_NAMES = {
    PARSE_ERROR: "parse error", INVALID_REQUEST: "invalid request",
    METHOD_NOT_FOUND: "unknown method", INVALID_PARAMS: "invalid params",
    INTERNAL_ERROR: "internal error", LINE_TOO_LONG: "line too long", BUSY: "busy",
    TIMEOUT: "timeout", SHUTTING_DOWN: "shutting down", CORE_UNAVAILABLE: "core unavailable",
    MEMORY_UNAVAILABLE: "memory unavailable", NOT_FOUND: "not found",
    ACTION_FAILED: "action failed",
}


class RpcError(Exception):
    """An error to send back: ``message`` is one line a person can act on."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def as_dict(self) -> dict:
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


@dataclass(frozen=True)
class Request:
    method: str
    params: dict
    id: Any = None  # str | int | float | None
    notification: bool = False  # no "id" member: no reply, not even an error


class BadRequest(Exception):
    """A line that is not a usable request; ``error`` is the reply, ``id`` the request's id
    when it could be read (else null)."""

    def __init__(self, error: RpcError, id: Any = None):
        super().__init__(error.message)
        self.error = error
        self.id = id


def _valid_id(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


def parse_request(line: bytes) -> Request:
    """One line (without or with its newline) -> Request, or BadRequest."""
    try:
        obj = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise BadRequest(RpcError(PARSE_ERROR, f"the line is not UTF-8 (byte {exc.start})")) from None
    except json.JSONDecodeError as exc:
        raise BadRequest(RpcError(PARSE_ERROR, f"not valid JSON: {exc.msg} at column {exc.colno}")) from None
    except (RecursionError, ValueError) as exc:  # deep nesting; a 10,000-digit number
        raise BadRequest(RpcError(PARSE_ERROR, f"JSON too deep or too large ({type(exc).__name__})")) from None
    if isinstance(obj, list):
        raise BadRequest(RpcError(INVALID_REQUEST, "batches are not supported; send one request "
                                                   "object per line"))
    if not isinstance(obj, dict):
        raise BadRequest(RpcError(INVALID_REQUEST, "a request must be a JSON object"))
    has_id = "id" in obj
    rid = obj.get("id")
    if has_id and not _valid_id(rid):
        raise BadRequest(RpcError(INVALID_REQUEST, "id must be a string, a number or null"))
    if obj.get("jsonrpc") != JSONRPC:
        raise BadRequest(RpcError(INVALID_REQUEST, 'the request needs "jsonrpc": "2.0"'), rid)
    method = obj.get("method")
    if not isinstance(method, str) or not method:
        raise BadRequest(RpcError(INVALID_REQUEST, '"method" must be a non-empty string'), rid)
    params = obj.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise BadRequest(RpcError(INVALID_PARAMS, "params must be an object (by name)"), rid)
    return Request(method=method, params=params, id=rid, notification=not has_id)


def encode(message: dict) -> bytes:
    """One message as one line. Non-finite floats are refused rather than sent as NaN."""
    return json.dumps(message, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8") + b"\n"


def result_message(rid: Any, result: Any) -> dict:
    return {"jsonrpc": JSONRPC, "id": rid, "result": result}


def error_message(rid: Any, error: RpcError) -> dict:
    return {"jsonrpc": JSONRPC, "id": rid, "error": error.as_dict()}


def notification(method: str, params: dict) -> dict:
    return {"jsonrpc": JSONRPC, "method": method, "params": params}


def request_message(method: str, params: dict | None, rid: Any) -> dict:
    message = {"jsonrpc": JSONRPC, "method": method, "id": rid}
    if params:
        message["params"] = params
    return message


# ---- params ----------------------------------------------------------------------------------
_MISSING = object()


def param(params: dict, name: str, kind: type | tuple, *, required: bool = False,
          default: Any = None, min: float | None = None, max: float | None = None,
          choices: tuple | None = None, max_len: int | None = None) -> Any:
    """One checked parameter, or RpcError(-32602) that names it and says what it must be."""
    value = params.get(name, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise RpcError(INVALID_PARAMS, f"params.{name} is required")
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    ok = isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)
    if float in kinds and isinstance(value, int) and not isinstance(value, bool):
        ok, value = True, float(value)
    if not ok:
        names = " or ".join({str: "a string", int: "an integer", float: "a number",
                             bool: "true or false", list: "a list", dict: "an object"}[k]
                            for k in kinds)
        raise RpcError(INVALID_PARAMS, f"params.{name} must be {names}")
    if isinstance(value, float) and not math.isfinite(value):
        raise RpcError(INVALID_PARAMS, f"params.{name} must be a finite number")
    if min is not None and value < min:
        raise RpcError(INVALID_PARAMS, f"params.{name} must be at least {min:g}")
    if max is not None and value > max:
        raise RpcError(INVALID_PARAMS, f"params.{name} must be at most {max:g}")
    if choices is not None and value not in choices:
        raise RpcError(INVALID_PARAMS, f"params.{name} must be one of {', '.join(map(str, choices))}")
    if max_len is not None and len(value) > max_len:
        raise RpcError(INVALID_PARAMS, f"params.{name} is longer than {max_len}")
    return value


def text_param(params: dict, name: str, max_len: int = 8000) -> str:
    value = param(params, name, str, required=True, max_len=max_len)
    if not value.strip():
        raise RpcError(INVALID_PARAMS, f"params.{name} is empty")
    return value


def tags_param(params: dict, name: str = "tags") -> list[str] | None:
    tags = param(params, name, list)
    if tags is None:
        return None
    if len(tags) > 32 or not all(isinstance(t, str) and 0 < len(t.strip()) <= 64 for t in tags):
        raise RpcError(INVALID_PARAMS, f"params.{name} must be a list of up to 32 short strings")
    return [t.strip() for t in tags]


def check_unknown(params: dict, known: tuple[str, ...]) -> None:
    unknown = sorted(set(params) - set(known))
    if unknown:
        # names come from the client: escaped and cut, so the message stays one short line
        names = ", ".join(repr(name)[1:-1][:64] for name in unknown[:8])
        more = f" and {len(unknown) - 8} more" if len(unknown) > 8 else ""
        raise RpcError(INVALID_PARAMS, f"unknown params: {names}{more} "
                                       f"(this method takes: {', '.join(known) or 'none'})")
