"""How long one call from the API to Temporal may take before the request answers 503.

Temporal's client retries an unreachable or unresponsive server for about 30 s by default; a
person at a form, or a webhook sender with its own timeout, should not wait that long. Every RPC
the API makes passes this as its ``rpc_timeout``; the error that follows is answered as 503 with
``Retry-After`` (``ui_api.errors.temporal_unavailable``).
"""

from __future__ import annotations

from datetime import timedelta

RPC_TIMEOUT = timedelta(seconds=10)
