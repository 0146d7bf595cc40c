"""axe-core (console/node_modules/axe-core, pinned in console/package.json) run inside a page.

Its source is evaluated through Playwright (DevTools evaluation, which the page's CSP does not
govern), so the console's CSP stays as strict as it is served."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parents[2] / "console" / "node_modules" / "axe-core" / "axe.js"
# WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices (landmarks, heading order).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = ("serious", "critical")

# Run in the page once axe is loaded: only what the assertion needs comes back.
RUN = """async ({ tags, exclude }) => {
  const results = await window.axe.run(
    { include: [document], exclude: exclude.map((selector) => [selector]) },
    { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] },
  );
  return results.violations.map((rule) => ({
    id: rule.id,
    impact: rule.impact,
    help: rule.help,
    targets: rule.nodes.map((node) => node.target.join(" ")),
    summaries: rule.nodes.map((node) => {
      const near = [...node.any, ...node.all, ...node.none].flatMap((check) =>
        check.relatedNodes.map((related) => related.target.join(" ")),
      );
      const summary = node.failureSummary || "";
      return near.length ? `${summary}\n(related: ${near.join(", ")})` : summary;
    }),
  }));
}"""


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on the page: its id, impact, help text and offending elements."""

    id: str
    impact: str
    help: str
    targets: list[str]
    summaries: list[str]

    def describe(self) -> str:
        lines = [f"{self.id} ({self.impact}): {self.help}"]
        for target, summary in zip(self.targets, self.summaries, strict=True):
            lines.append(f"    {target}: {' / '.join(summary.splitlines()[1:])}")
        return "\n".join(lines)


@cache
def _axe_source() -> str:
    if not AXE_JS.is_file():
        raise RuntimeError(f"{AXE_JS} is missing: run `npm ci` in console/")
    return AXE_JS.read_text()


def violations(page: Page, exclude: tuple[str, ...] = ()) -> list[Violation]:
    """axe-core's violations of ``TAGS`` on the page as it is now (``exclude``: CSS selectors of
    elements left out, each with a reason where it is passed)."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    found: list[dict[str, Any]] = page.evaluate(RUN, {"tags": TAGS, "exclude": list(exclude)})
    return [Violation(**rule) for rule in found]


def assert_no_serious_violations(page: Page, where: str, exclude: tuple[str, ...] = ()) -> None:
    """No violation of impact serious or critical; the message lists every offender."""
    found = violations(page, exclude)
    blocking = [rule for rule in found if rule.impact in BLOCKING]
    assert not blocking, f"axe-core on {where}:\n" + "\n".join(rule.describe() for rule in found)
