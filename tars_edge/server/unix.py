"""Owning the Unix socket path: one daemon per path, stale sockets cleaned up, mode 0660.

Ownership is an ``flock`` on ``PATH.lock`` beside the socket, held for the daemon's life; the
kernel drops it when the process dies, even by ``kill -9``, so a socket file left behind by a
dead daemon is recognised as stale (nobody holds the lock, nobody answers a connect) and
replaced. A live daemon — ours by the lock, or anything answering on the path — is never
touched: the new one refuses to start and says who is there.
"""

from __future__ import annotations

import errno
import fcntl
import grp
import logging
import os
import socket
import stat
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("tars_edge.server")


class SocketBusyError(RuntimeError):
    """The path is served by another daemon, or cannot be used; one line saying what to do."""


@dataclass
class SocketClaim:
    path: Path
    lock_fd: int
    sock: socket.socket
    inode: int

    def release(self) -> None:
        """Remove the socket file if it is still ours, then drop the lock."""
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("cannot remove socket path=%s error=%s", self.path, exc.strerror)
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            os.close(self.lock_fd)
        except OSError:
            pass


def _owner_pid(lock_path: Path) -> str:
    try:
        return lock_path.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


def _answers(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def claim_socket(path: Path, mode: int = 0o660, group: str = "") -> SocketClaim:
    """Lock, clean up a stale socket, bind and listen. Raises SocketBusyError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as exc:
        raise SocketBusyError(f"{path.parent}: cannot create the socket directory: "
                              f"{exc.strerror}") from None
    lock_path = path.with_name(path.name + ".lock")
    try:
        lock_fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise SocketBusyError(f"{lock_path}: cannot open the lock file: {exc.strerror}") from None
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        os.close(lock_fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise SocketBusyError(
                f"{path}: another tars-edge daemon (pid {_owner_pid(lock_path)}) is serving this "
                "socket; stop it first, or pass --socket PATH for a second one"
            ) from None
        raise SocketBusyError(f"{lock_path}: cannot lock: {exc.strerror}") from None
    try:
        if path.exists() or path.is_symlink():
            if not stat.S_ISSOCK(os.lstat(path).st_mode):
                raise SocketBusyError(f"{path}: exists and is not a socket; remove it or choose "
                                      "another --socket path")
            if _answers(path):
                raise SocketBusyError(f"{path}: another process is answering on this socket; "
                                      "stop it first, or pass --socket PATH")
            log.info("removing stale socket path=%s", path)
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o777 & ~mode)  # no window in which the socket is wider than mode
        try:
            sock.bind(str(path))
        finally:
            os.umask(old_umask)
        os.chmod(path, mode)
        if group:
            try:
                os.chown(path, -1, grp.getgrnam(group).gr_gid)
            except KeyError:
                sock.close()
                os.unlink(path)
                raise SocketBusyError(f"daemon.socket_group: no group named {group!r}") from None
        sock.listen(128)
        sock.setblocking(False)
        os.ftruncate(lock_fd, 0)
        os.write(lock_fd, f"{os.getpid()}\n".encode())
        return SocketClaim(path, lock_fd, sock, os.stat(path).st_ino)
    except SocketBusyError:
        os.close(lock_fd)
        raise
    except OSError as exc:
        os.close(lock_fd)
        raise SocketBusyError(f"{path}: cannot listen here: {exc.strerror}") from None
