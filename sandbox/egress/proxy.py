"""The egress proxy program: ``python3 -I /opt/stepwell-egress/sandbox/egress/proxy.py``.

It runs as the only process of the egress proxy container (one per worker process, on the
Docker engine that runs the steps). The worker drives it through the container's stdin/stdout
(``control.py``); each execution with egress gets a lease: a Unix socket
``/egress/<token>/proxy.sock`` bind-mounted into the step's container (``lease.py``), on which
the proxy enforces the execution's egress rules and caps and records every connection
(``connection.py``).

How the image must lay the files out (the program imports only the standard library, h11 and
``step_sdk.egress``; ``-I`` ignores the environment and puts no script directory on
``sys.path``, so :func:`main` adds the layout root itself)::

    /opt/stepwell-egress/                  # ROOT, any path
        sandbox/__init__.py                # empty
        sandbox/egress/<PROXY_MODULES>     # every file listed in sandbox.egress.PROXY_MODULES
        step_sdk/__init__.py               # EMPTY (the real one imports pydantic)
        step_sdk/egress.py
        h11/*.py                           # h11's package files, copied from the host install

and start it with ``python3 -I ROOT/sandbox/egress/proxy.py [--root /egress]`` (``--root``: the
directory the leases' socket directories are made in, default ``/egress``, the mount point of
the ``stepwell-egress`` volume; it must exist and be writable by the proxy's user). Exit
status: 0 after end of input or SIGTERM, 2 when ``configure`` was refused in production mode.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

DEFAULT_SOCKET_ROOT = "/egress"


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the control loop until its input ends; return the exit status."""
    layout_root = str(Path(__file__).resolve().parents[2])
    if layout_root not in sys.path:
        sys.path.insert(0, layout_root)
    from sandbox.egress.control import serve

    parser = argparse.ArgumentParser(prog="proxy.py", description="Stepwell egress proxy")
    parser.add_argument("--root", default=DEFAULT_SOCKET_ROOT, help="lease socket directory")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not root.is_dir():
        print(f"egress: the socket root {root} is not a directory", file=sys.stderr)
        return 1
    print(f"egress: proxy started, sockets under {root}", file=sys.stderr, flush=True)
    return asyncio.run(serve(root, sys.stdin.buffer, sys.stdout.buffer))


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Leave at once even if a name lookup thread is still stuck in getaddrinfo.
    os._exit(status)
