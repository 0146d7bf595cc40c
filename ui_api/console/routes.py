"""Routes of the console: ``/`` (its one page, hash-routed), ``/console/...`` (its scripts,
styles and the vendored reference-page assets), ``/docs`` (Swagger UI) and ``/redoc``.

All of them are files of the built console (``make console``). Before it is built each page
answers 503 saying so; the API under ``/v1`` does not depend on any of this.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC = Path(__file__).resolve().parent / "static"

# The pages themselves are revalidated on every load, so a rebuilt console shows at once.
PAGE_CACHE = "no-cache"
# Scripts, styles and vendor files are not content-hashed (app.js, app.css): a short lifetime,
# then a conditional request (ETag / Last-Modified) that usually answers 304.
ASSET_CACHE = "public, max-age=300"

# Page path -> the built file it serves.
PAGES = {"/": "index.html", "/docs": "docs.html", "/redoc": "redoc.html"}

NOT_BUILT = """\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Stepwell console not built</title></head>
<body>
<h1>The Stepwell console is not built</h1>
<p>This server has no built console files. From the repository, run <code>make console</code>
(it needs Node.js and npm), then reload this page.</p>
<p>The API itself works: its description is at <a href="/v1/openapi.json">/v1/openapi.json</a>.</p>
</body>
</html>
"""


class ConsoleAssets(StaticFiles):
    """Static files with :data:`ASSET_CACHE`; a missing built directory answers 404."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope,
        status_code: int = 200,
    ) -> Response:  # fmt: skip
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = ASSET_CACHE
        return response

    async def check_config(self) -> None:
        # Starlette raises RuntimeError (a 500) for a missing directory, checked per request.
        if self.directory is not None and not os.path.isdir(self.directory):
            raise HTTPException(status_code=404)
        await super().check_config()


def _page(static: Path, name: str) -> Response:
    built = static / name
    if not built.is_file():
        return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
    return FileResponse(built, media_type="text/html", headers={"Cache-Control": PAGE_CACHE})


def _page_route(static: Path, name: str) -> Callable[[], Awaitable[Response]]:
    async def page() -> Response:
        return _page(static, name)

    return page


def install_console(app: FastAPI, static: Path = STATIC) -> None:
    """Serve the console built into ``static`` on ``app`` (outside ``/v1``, not in OpenAPI)."""
    for path, name in PAGES.items():
        app.add_api_route(
            path,
            _page_route(static, name),
            methods=["GET", "HEAD"],
            include_in_schema=False,
            name=f"console:{name}",
        )
    app.mount("/console", ConsoleAssets(directory=static, check_dir=False), name="console")
