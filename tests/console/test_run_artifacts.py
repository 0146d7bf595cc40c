"""A run's artifacts on its page, in a real browser on a real stack: a PNG shown as a thumbnail
with its own pixels, every file listed and downloaded with its bytes, and nothing a step saved
(HTML, SVG, markup in a name, script bytes labelled image/png) ever rendered or run."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.console.axe import assert_no_serious_violations
from tests.console.browser import screenshot
from tests.console.runs_helpers import inline_step, push_step, save_flow, start_run, wait_closed
from tests.console.stack import ConsoleStack

WIDTH, HEIGHT = 48, 32
# left half red, right half blue, bottom-right quarter green: wrong orientation or scaling shows
RED, BLUE, GREEN = (220, 30, 40), (20, 60, 200), (10, 160, 70)


def pixel(x: int, y: int) -> tuple[int, int, int]:
    if x < WIDTH // 2:
        return RED
    return GREEN if y >= HEIGHT // 2 else BLUE


def png(width: int, height: int) -> bytes:
    """An 8-bit RGB PNG of ``pixel`` (no colour profile, so the browser draws the exact bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = png(WIDTH, HEIGHT)
CSV = b"name,amount\nAda,12\nGrace,7\n"
SCRIPT = "window.__stepwellPwned = true"
HTML = f"<html><body><h1>report</h1><script>{SCRIPT}</script></body></html>".encode()
SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10" '
    f'onload="{SCRIPT}"><script>{SCRIPT}</script></svg>'
).encode()
MARKUP_NAME = "<img src=x onerror=window.__stepwellPwned=true>.txt"
FILES = {
    "chart.png": (PNG, "image/png"),
    "data.csv": (CSV, "text/csv"),
    "page.html": (HTML, "text/html"),
    "drawing.svg": (SVG, "image/svg+xml"),
    "fake.png": (SVG, "image/png"),  # script bytes that claim to be a PNG
    MARKUP_NAME: (b"plain", "text/plain"),
}

ENCODED = {name: (base64.b64encode(data).decode(), kind) for name, (data, kind) in FILES.items()}
SAVER = inline_step(
    "console.artifacts",
    f"""
    import base64
    from step_sdk import StepContext, step

    FILES = {{
        name: (base64.b64decode(data), content_type)
        for name, (data, content_type) in {ENCODED!r}.items()
    }}

    @step(name="console.artifacts", version="1.0.0")
    def main(ctx: StepContext) -> int:
        for name, (data, content_type) in FILES.items():
            ctx.artifacts.save(name, data, content_type)
        return len(FILES)
    """,
)

FLOW = {"name": "artifacts", "steps": [{"id": "report", "uses": "console.artifacts@1.0.0"}]}

# Drawn onto a canvas in the page: the thumbnail's natural size and a pixel of each region.
READ_IMAGE = """(img) => {
  const canvas = document.createElement("canvas");
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(img, 0, 0);
  const at = (x, y) => Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
  const w = img.naturalWidth, h = img.naturalHeight;
  return {
    width: w, height: h, src: img.src,
    topLeft: at(2, 2), topRight: at(w - 3, 2), bottomRight: at(w - 3, h - 3),
  };
}"""


def test_a_steps_artifacts_are_listed_shown_and_downloaded(
    signed_in: Page, console_stack: ConsoleStack, tmp_path: Path
) -> None:
    api = console_stack.api
    push_step(api, SAVER)
    run_id = start_run(api, save_flow(api, FLOW))
    assert wait_closed(api, run_id)["status"] == "succeeded"

    page = signed_in
    page.goto(f"/#/runs/{run_id}")
    step = page.get_by_role("region", name="Step report")
    table = step.get_by_role("table", name="Artifacts of step report")
    expect(table.get_by_role("row")).to_have_count(1 + len(FILES))
    csv_row = table.get_by_role("row", name="data.csv")
    expect(csv_row).to_contain_text("text/csv")
    expect(csv_row).to_contain_text(f"{len(CSV)} B")
    expect(table.get_by_role("row", name="chart.png")).to_contain_text("image/png")

    # the PNG, and only what claims to be a raster image, gets a thumbnail
    images = step.get_by_role("list", name="Images of step report")
    expect(images.get_by_role("listitem")).to_have_count(2)
    chart = images.get_by_role("img", name="chart.png")
    expect(chart).to_be_visible()
    expect(chart).to_have_js_property("complete", True)
    drawn = chart.evaluate(READ_IMAGE)
    assert drawn["src"].startswith("blob:"), drawn["src"]
    assert (drawn["width"], drawn["height"]) == (WIDTH, HEIGHT)
    assert drawn["topLeft"] == list(RED)
    assert drawn["topRight"] == list(BLUE)
    assert drawn["bottomRight"] == list(GREEN)
    # script bytes labelled image/png are fetched as an image and fail to decode: no script
    expect(images.get_by_role("listitem").filter(has_text="fake.png")).to_contain_text(
        "Not shown: not an image the browser can show"
    )

    # the downloads are the bytes the step saved, under their names
    for name in ("data.csv", "chart.png", "page.html"):
        with page.expect_download() as info:
            table.get_by_role("button", name=f"Download {name}", exact=True).click()
        download = info.value
        assert download.suggested_filename == name
        assert Path(download.path()).read_bytes() == FILES[name][0]

    # nothing was rendered or run: no frame, no object, no image but the PNG's, the markup in
    # a name is text, the page never left the run and opened no other page
    expect(page.locator("iframe, object, embed")).to_have_count(0)
    expect(step.locator("img")).to_have_count(1)
    expect(table.get_by_role("row", name=MARKUP_NAME)).to_have_count(1)
    assert page.evaluate("() => window.__stepwellPwned") is None
    assert page.url.endswith(f"/#/runs/{run_id}")
    assert page.context.pages == [page]

    assert_no_serious_violations(page, "a run page with artifacts")
    screenshot(page, "run-artifacts")


BROWSER_STEP = inline_step(
    "console.browser_shot",
    """
    from step_sdk import StepContext, step
    from step_sdk.browser import browser

    PAGE = (
        "<title>Status board</title>"
        "<body style='margin:0;font:28px sans-serif'>"
        "<div style='height:120px;background:#1f6f3f;color:#fff;padding:20px'>All green</div>"
        "<p style='padding:20px'>Rendered by Chromium in the step's own container.</p></body>"
    )

    @step(name="console.browser_shot", version="1.0.0", runtime="python3.11-browser")
    def main(ctx: StepContext) -> dict[str, str]:
        with browser() as chromium:
            page = chromium.new_page(viewport={"width": 640, "height": 400})
            page.set_content(PAGE)  # no network: the step declares no egress
            ctx.artifacts.save("page.png", page.screenshot(type="png"), "image/png")
            return {"title": page.title()}
    """,
    runtime="python3.11-browser",
    limits={"timeout_s": 120},
)
BROWSER_FLOW = {
    "name": "status-board",
    "steps": [{"id": "shot", "uses": "console.browser_shot@1.0.0"}],
}


def test_a_browser_steps_screenshot_is_a_thumbnail(
    signed_in: Page, console_stack: ConsoleStack
) -> None:
    api = console_stack.api
    push_step(api, BROWSER_STEP)
    run_id = start_run(api, save_flow(api, BROWSER_FLOW))
    run = wait_closed(api, run_id, timeout_s=300)
    assert run["status"] == "succeeded", run["steps"]["shot"]
    [listed] = run["steps"]["shot"]["artifacts"]
    assert (listed["name"], listed["content_type"]) == ("page.png", "image/png")

    page = signed_in
    page.goto(f"/#/runs/{run_id}")
    images = page.get_by_role("list", name="Images of step shot")
    thumbnail = images.get_by_role("img", name="page.png")
    expect(thumbnail).to_have_js_property("complete", True)
    drawn = thumbnail.evaluate(READ_IMAGE)
    assert (drawn["width"], drawn["height"]) == (640, 400)
    assert drawn["topLeft"] == [0x1F, 0x6F, 0x3F]  # the green band Chromium drew
    assert drawn["bottomRight"] == [255, 255, 255]
    expect(page.get_by_label("Output of step shot")).to_contain_text('"title": "Status board"')
    page.get_by_role("region", name="Step shot").scroll_into_view_if_needed()
    screenshot(page, "run-browser-step")
