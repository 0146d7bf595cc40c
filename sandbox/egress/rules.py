"""Which of a step's declared egress entries an execution gets, under the operator's setting."""

from __future__ import annotations

from collections.abc import Sequence

from step_sdk.egress import ANY_HOST, parse_entry

MODES = ("declared", "any-public", "off")


def effective_rules(egress: Sequence[str], mode: str) -> tuple[str, ...]:
    """The entries of a manifest's ``egress`` that the proxy enforces for one execution.

    ``mode`` is ``SandboxConfig.egress_mode``: ``"off"`` gives none (the step gets no network);
    ``"declared"`` drops ``*`` entries (any public host) and keeps the listed hosts;
    ``"any-public"`` keeps everything. Pushes are refused earlier under the same setting; this
    holds for bundles that were pushed before the operator tightened it.

    Raises:
        ValueError: an unknown mode, or an entry that does not parse (manifests are validated
            when built, so this means a corrupt manifest).
    """
    if mode not in MODES:
        raise ValueError(f"egress_mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode == "off":
        return ()
    rules = []
    for entry in egress:
        rule = parse_entry(entry)
        if mode == "declared" and rule.host == ANY_HOST:
            continue
        rules.append(str(rule))
    return tuple(dict.fromkeys(rules))


def ignored_note(egress: Sequence[str], rules: Sequence[str], mode: str) -> str:
    """A line for the step's log naming the declared entries the operator's setting ignores
    (``""`` when none are): without it a step would only see a failed name lookup."""
    ignored = [entry for entry in egress if entry not in rules]
    if not ignored:
        return ""
    why = (
        "this installation gives steps no network"
        if mode == "off"
        else "this installation allows only listed hosts, not '*'"
    )
    return f"[stepwell: egress {', '.join(ignored)} ignored: {why} (STEPWELL_EGRESS={mode})]\n"
