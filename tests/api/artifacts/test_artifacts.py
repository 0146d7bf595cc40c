"""Run artifacts end to end: a real worker saves them, the API lists and serves them.

Real Temporal, real Docker, the API's own database (SQLite and PostgreSQL) and bundle store.
"""

from __future__ import annotations

import zlib
from typing import Any

import httpx
import sqlalchemy as sa

from tests.api.helpers import WorkspaceKey, finished, insert_flow, insert_step
from tests.api.runs.helpers import inline_step, start
from ui_api.services import Services


def _png() -> bytes:
    """A real 1x1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    header = (1).to_bytes(4, "big") * 2 + bytes([8, 2, 0, 0, 0])
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


PNG = _png()
CSV = b"company,score\nacme,66\n"
HTML = b"<script>fetch('/v1/runs')</script><h1>hi</h1>"

SAVER = inline_step(
    "test.artifacts",
    f"""
    import os
    from step_sdk import StepContext, step

    @step(name="test.artifacts", version="1.0.0")
    def main(ctx: StepContext) -> int:
        ctx.artifacts.save("shot.png", {PNG!r}, "image/png")
        ctx.artifacts.save("page.html", {HTML!r}, "text/html")
        ctx.artifacts.save("r\\u00e9sum\\u00e9 \\"1\\".txt", b"unicode", "text/plain;charset=utf-8")
        folder = os.environ["STEPWELL_ARTIFACTS_DIR"]
        with open(os.path.join(folder, "report.csv"), "wb") as out:
            out.write({CSV!r})
        # hostile entries: never followed, never stored
        os.symlink("/proc/self/environ", os.path.join(folder, "environ"))
        os.symlink("/etc/passwd", os.path.join(folder, "passwd"))
        os.mkdir(os.path.join(folder, "sub"))
        with open(os.path.join(folder, "bad\\x01name"), "wb") as out:
            out.write(b"x")
        for name in ("../x", "/etc/passwd", "a\\x00b", "x" * 10000, ".."):
            try:
                ctx.artifacts.save(name, b"x", "text/plain")
            except ValueError:
                pass
            else:
                raise AssertionError(name)
        return 1
    """,
)

TOO_MANY = inline_step(
    "test.too_many",
    """
    import os
    from step_sdk import step

    @step(name="test.too_many", version="1.0.0")
    def main() -> int:
        folder = os.environ["STEPWELL_ARTIFACTS_DIR"]
        for i in range(21):
            with open(os.path.join(folder, f"f{i}.txt"), "w") as out:
                out.write("x")
        return 1
    """,
)

TOO_LARGE = inline_step(
    "test.too_large",
    """
    from step_sdk import StepContext, step

    @step(name="test.too_large", version="1.0.0")
    def main(ctx: StepContext) -> int:
        ctx.artifacts.save("big.bin", b"x" * (10 * 1024 * 1024 + 1))
        return 1
    """,
)

TOO_MUCH = inline_step(
    "test.too_much",
    """
    import os
    from step_sdk import step

    @step(name="test.too_much", version="1.0.0", memory_mb=512, retry={"max_attempts": 1})
    def main() -> int:
        folder = os.environ["STEPWELL_ARTIFACTS_DIR"]
        try:
            for i in range(6):
                with open(os.path.join(folder, f"part{i}.bin"), "wb") as out:
                    out.write(b"y" * (9 * 1024 * 1024))
        except OSError as exc:  # the folder is a tmpfs of the total cap
            print("folder full:", exc.strerror)
            raise
        return 1
    """,
)


async def _run(
    client: httpx.AsyncClient, services: Services, workspace: WorkspaceKey, bundle: Any
) -> dict[str, Any]:
    insert_step(services, workspace.workspace_id, bundle)
    flow = insert_flow(
        services,
        workspace.workspace_id,
        {"name": "art", "steps": [{"id": "save", "uses": f"{bundle.manifest.name}@1.0.0"}]},
    )
    started = await start(client, workspace, flow.id)
    return await finished(client, workspace, started["run_id"])


async def test_saved_and_written_artifacts_are_listed_and_downloadable(
    client: httpx.AsyncClient,
    api_services: Services,
    workspace: WorkspaceKey,
    other_workspace: WorkspaceKey,
    api_worker: str,
) -> None:
    run = await _run(client, api_services, workspace, SAVER)
    assert run["status"] == "succeeded", run
    step = run["steps"]["save"]
    listed = {a["name"]: a for a in step["artifacts"]}
    assert set(listed) == {"page.html", "report.csv", 'résumé "1".txt', "shot.png"}, step["logs"]
    assert listed["shot.png"]["content_type"] == "image/png"
    assert listed["report.csv"]["content_type"] == "text/csv"  # guessed from the name
    assert listed['résumé "1".txt']["content_type"] == "text/plain"  # parameters dropped
    assert listed["shot.png"]["size_bytes"] == len(PNG)
    # the refused folder entries are named in the log, by pointer
    for refused in ("environ", "passwd", "sub", "bad\\x01name"):
        assert refused in step["logs"], step["logs"]
    assert "/artifacts/" in step["logs"]

    shot = await client.get(listed["shot.png"]["url"], headers=workspace.headers)
    assert shot.status_code == 200
    assert shot.content == PNG
    assert shot.headers["content-type"] == "image/png"
    assert shot.headers["x-content-type-options"] == "nosniff"
    assert shot.headers["content-disposition"].startswith("attachment;")
    csv = await client.get(listed["report.csv"]["url"], headers=workspace.headers)
    assert csv.content == CSV

    unicode = await client.get(listed['résumé "1".txt']["url"], headers=workspace.headers)
    assert unicode.content == b"unicode"
    assert (
        "filename*=UTF-8''r%C3%A9sum%C3%A9%20%221%22.txt" in unicode.headers["content-disposition"]
    )

    # an uploaded page never runs script in the API's origin: attachment, sandboxed, nosniff
    page = await client.get(listed["page.html"]["url"], headers=workspace.headers)
    assert page.content == HTML
    policies = page.headers.get_list("content-security-policy")
    assert any(p.startswith("sandbox") for p in policies), policies
    assert all("script-src 'unsafe-inline'" not in p for p in policies), policies
    assert page.headers["content-disposition"].startswith("attachment;")

    # another workspace: 404, as for a name that does not exist
    foreign = await client.get(listed["shot.png"]["url"], headers=other_workspace.headers)
    assert foreign.status_code == 404
    unknown = await client.get(
        f"/v1/runs/{run['run_id']}/artifacts/save/nope.png", headers=workspace.headers
    )
    assert unknown.status_code == 404

    # what the host stored: exactly the four, nothing from the links or the host
    with api_services.engine.connect() as connection:
        names = connection.execute(
            sa.text("SELECT name FROM artifact WHERE run_id = :r"), {"r": run["run_id"]}
        ).scalars()
        assert sorted(names) == sorted(listed)
    for artifact in listed.values():  # stored by digest in the bundle store
        assert len(api_services.bundles.get(artifact["digest"])) == artifact["size_bytes"]


async def test_artifact_caps_fail_the_step_with_their_own_error(
    client: httpx.AsyncClient,
    api_services: Services,
    workspace: WorkspaceKey,
    api_worker: str,
) -> None:
    for bundle, expected in (
        (TOO_MANY, "21 artifacts; the limit is 20"),
        (TOO_LARGE, "the limit is 10485760 per artifact"),
        (TOO_MUCH, "No space left on device"),
    ):
        run = await _run(client, api_services, workspace, bundle)
        assert run["status"] == "failed", run
        step = run["steps"]["save"]
        error = step["error"]
        if bundle is TOO_MUCH:  # the tmpfs refused the write past the total cap; what the
            # failed step did write, within the cap, is kept (a failure's files are the useful ones)
            assert expected in step["logs"], step
            assert sum(a["size_bytes"] for a in step["artifacts"]) <= 50 * 1024 * 1024
        else:
            assert step["artifacts"] == []
            assert error["type"] == "ArtifactLimitExceeded", error
            assert expected in error["message"], error


RETRIED = inline_step(
    "test.retried",
    """
    from step_sdk import StepContext, step

    @step(name="test.retried", version="1.0.0")
    def main(n: int, ctx: StepContext) -> int:
        ctx.artifacts.save("attempt.txt", f"item {n} attempt {ctx.attempt}".encode(), "text/plain")
        if ctx.attempt == 1:
            raise RuntimeError("first attempts fail")
        return n
    """,
    retry={"max_attempts": 2, "initial_interval_s": 0.1},
)


async def test_foreach_items_list_their_latest_attempt_and_earlier_ones_stay_reachable(
    client: httpx.AsyncClient,
    api_services: Services,
    workspace: WorkspaceKey,
    api_worker: str,
) -> None:
    insert_step(api_services, workspace.workspace_id, RETRIED)
    flow = insert_flow(
        api_services,
        workspace.workspace_id,
        {"name": "items", "steps": [{"id": "each", "uses": "test.retried@1.0.0",
                                     "foreach": "{{ trigger }}", "with": {"n": "{{ item }}"}}]},
    )  # fmt: skip
    started = await start(client, workspace, flow.id, [4, 5])
    run = await finished(client, workspace, started["run_id"])
    assert run["status"] == "succeeded", run
    listed = run["steps"]["each"]["artifacts"]
    assert [(a["execution_id"], a["attempt"], a["name"]) for a in listed] == [
        ("each[0]", 2, "attempt.txt"),
        ("each[1]", 2, "attempt.txt"),
    ]
    latest = await client.get(listed[1]["url"], headers=workspace.headers)
    assert latest.content == b"item 5 attempt 2"
    first = await client.get(listed[1]["url"], params={"attempt": 1}, headers=workspace.headers)
    assert first.content == b"item 5 attempt 1"
