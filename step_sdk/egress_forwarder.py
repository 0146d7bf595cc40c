"""The egress forwarder inside a step's container (contract 2, docs/egress.md).

When the host gave an execution an egress lease, its proxy's Unix socket is mounted in the
container and ``HTTP_PROXY`` and friends point at ``127.0.0.1:3128``. :func:`start` forks a
process that listens there and pipes each connection to the socket, so standard HTTP clients work
unchanged in a container that has no network. It enforces nothing: the proxy outside the
container does, and a step talking to the socket directly gains nothing.

Standard library only: the runner loads this file by its path, before any step code and without
importing the ``step_sdk`` package (which would pull in pydantic).
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading

LISTEN = ("127.0.0.1", 3128)
_PIPE_CHUNK = 256 * 1024


def _pipe(source: socket.socket, target: socket.socket) -> None:
    """Copy ``source`` to ``target`` until end of stream, then pass the end on (half-close).

    With ``splice(2)`` the bytes go through a kernel pipe and never through Python."""
    try:
        if hasattr(os, "splice"):
            _splice_all(source.fileno(), target.fileno())
        else:
            _copy_all(source, target)
    except OSError:
        pass
    finally:
        for sock, how in ((target, socket.SHUT_WR), (source, socket.SHUT_RD)):
            with contextlib.suppress(OSError):
                sock.shutdown(how)


def _splice_all(source: int, target: int) -> None:
    read_end, write_end = os.pipe()
    try:
        while True:
            moved = os.splice(source, write_end, _PIPE_CHUNK)
            if not moved:
                return
            while moved:
                moved -= os.splice(read_end, target, moved)
    finally:
        os.close(read_end)
        os.close(write_end)


def _copy_all(source: socket.socket, target: socket.socket) -> None:
    buffer = bytearray(_PIPE_CHUNK)
    view = memoryview(buffer)
    while size := source.recv_into(buffer):
        target.sendall(view[:size])


def _forward(client: socket.socket, socket_path: str) -> None:
    """One forwarded connection: client <-> the proxy's socket, both directions at once."""
    upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        upstream.connect(socket_path)
    except OSError:
        upstream.close()
        client.close()
        return
    outbound = threading.Thread(target=_pipe, args=(client, upstream), daemon=True)
    outbound.start()
    _pipe(upstream, client)
    outbound.join()
    upstream.close()
    client.close()


def _serve(listener: socket.socket, socket_path: str) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        threading.Thread(target=_forward, args=(client, socket_path), daemon=True).start()


def start(socket_path: str, keep_closed: tuple[int, ...] = ()) -> None:
    """Listen on ``LISTEN`` and forward each connection to ``socket_path``.

    The forwarder is a child process forked before anything is imported or read: it moves the
    step's network bytes on a CPU of its own instead of competing with the step's code for its
    interpreter, and holds none of the runner's descriptors (``keep_closed``, stdin). It ends
    with the container (the runner's exit ends the init, and with it every process).
    """
    try:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(LISTEN)
        listener.listen(128)
        child = os.fork()
    except OSError as exc:
        print(f"stepwell: the egress forwarder could not start: {exc}", file=sys.stderr)
        return
    if child:
        listener.close()
        return
    try:  # the forwarder process: never returns
        for fd in (0, *keep_closed):
            with contextlib.suppress(OSError):
                os.close(fd)
        _serve(listener, socket_path)
    finally:
        os._exit(0)
