"""Egress: the proxy that lets a step reach exactly the hosts it declared (docs/egress.md).

The proxy program (``proxy.py`` and the modules in :data:`PROXY_MODULES`) runs inside its own
container with only the standard library, h11 and ``step_sdk.egress``; this package's other
modules are the worker's side. Nothing is imported here, so the proxy's container needs no more
than the files listed.
"""

# The files of this package the proxy container needs (see proxy.py for the image layout).
PROXY_MODULES = (
    "__init__.py",
    "addresses.py",
    "connection.py",
    "control.py",
    "http_forward.py",
    "lease.py",
    "proxy.py",
    "records.py",
    "refusal.py",
    "settings.py",
    "target.py",
    "tunnel.py",
    "upstream.py",
)
