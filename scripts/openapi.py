"""Print the API's OpenAPI document (JSON) without a database or Temporal.

The console's typed API client (``console/src/api/schema.d.ts``) is generated from it:
``cd console && npm run schema``.
"""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace
from typing import cast

from ui_api.app import create_app
from ui_api.metrics import Metrics
from ui_api.services import Services


def main() -> None:
    # The routes and models do not touch the services until a request comes; metrics are
    # installed as middleware at creation, so they are the one service needed here.
    app = create_app(cast(Services, SimpleNamespace(metrics=Metrics())))
    json.dump(app.openapi(), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
