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
    """Why ``host:port`` cannot be listened on (``"is in use"``, ...), or None if it can."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is in use"
            return f"cannot be used: {exc.strerror}"
    return None
