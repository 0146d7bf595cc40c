"""``stepwell api``: the HTTP API on its own (for deployments with separate workers)."""

from __future__ import annotations

import asyncio
import logging

from stepwell.cli.output import fail
from stepwell.settings import Settings
from ui_api.crypto import InsecureSecretKey
from ui_api.server import serve


def api() -> None:
    """Serve the HTTP API (STEPWELL_API_HOST/STEPWELL_API_PORT, default 127.0.0.1:8000)."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    try:
        asyncio.run(serve(Settings()))
    except InsecureSecretKey as exc:
        fail(str(exc), code=1)
    except KeyboardInterrupt:
        pass
