"""Child processes that never outlive the process that started them, and the ports they need.

A child started with :func:`die_with_parent` as its ``preexec_fn`` gets SIGKILL from the Linux
kernel when its parent dies, however the parent dies (``kill -9`` included), so a crashed
``stepwell up`` leaves no Temporal dev server behind holding the port and the database file.
"""

from __future__ import annotations

import ctypes
import errno
import os
import signal
import socket
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def die_with_parent_supported() -> bool:
    """True where :func:`die_with_parent` can do its job (Linux)."""
    return sys.platform.startswith("linux")


def die_with_parent(parent_pid: int) -> None:
    """In a forked child before exec: ask for SIGKILL when the parent thread exits.

    The death signal survives ``exec`` and fires when the *thread* that forked the child
    ends, so start children from the main thread. If the parent died between the fork and
    this call, the signal will never come: the child then kills itself at once.

    Raises:
        OSError: the kernel refused (the child is then not started).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"prctl(PR_SET_PDEATHSIG): {os.strerror(code)}")
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), signal.SIGKILL)


def port_problem(host: str, port: int) -> str | None:
    """Why ``host:port`` cannot be listened on, or None if it can.

    For a port in use, the message names the listening process when this host's ``/proc``
    shows it: ``"is in use by pid 4242 (temporal server start-dev ...)"``.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                return f"cannot be used: {exc.strerror}"
            holder = listener_of(port)
            return f"is in use by {holder}" if holder else "is in use"
    return None


def listener_of(port: int) -> str | None:
    """``"pid N (command line)"`` of the local process listening on TCP ``port``, if visible."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            # local address "ADDR:PORT" in hex; state 0A is LISTEN; field 9 is the inode
            if len(fields) <= 9 or fields[3] != "0A":
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return None
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in inodes for fd in (process / "fd").iterdir()):
                command = (process / "cmdline").read_bytes().replace(b"\0", b" ").strip()
                return f"pid {process.name} ({command.decode(errors='replace')[:200]})"
        except OSError:
            continue
    return None
