"""The local socket API (DESIGN §6): JSON-RPC 2.0 framing, the asyncio Unix-socket server,
socket ownership, and the event bus. The methods themselves live in :mod:`tars_edge.daemon`."""

from tars_edge.server.bus import EventBus
from tars_edge.server.protocol import RpcError
from tars_edge.server.server import Call, Limits, RpcServer
from tars_edge.server.unix import SocketBusyError, SocketClaim, claim_socket

__all__ = ["Call", "EventBus", "Limits", "RpcError", "RpcServer", "SocketBusyError",
           "SocketClaim", "claim_socket"]
