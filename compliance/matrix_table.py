"""The protective-state matrix of a pack as a table people read: `accord compliance matrix [PACK]` and the docs.

Rows are states, columns outbound purposes, cells allow / limited / block, exactly as the gate decides them
(Pack.effect), followed by who may lift each state and its numbers (resume after, review after)."""

from __future__ import annotations

from compliance.packs import Pack
from core.enums import MessagePurpose
from core.protection import Effect, ProtectiveKind

_CELL = {Effect.ALLOW: "allow", Effect.LIMITED: "limited", Effect.BLOCK: "BLOCK"}


def matrix_rows(pack: Pack) -> list[dict[str, str]]:
    """One dict per state: the kind, then one cell per purpose, then the lifecycle numbers."""
    rows = []
    for kind in ProtectiveKind:
        rule = pack.protective_states[kind]
        row = {"state": kind.value}
        row.update({purpose.value: pack.effect(kind, purpose).value for purpose in MessagePurpose})
        row.update({"lift_requires": rule.lift_requires, "resume_after_days": str(rule.resume_after_days),
                    "review_after_days": str(rule.review_after_days or "")})
        rows.append(row)
    return rows


def matrix_text(pack: Pack) -> str:
    """A fixed-width table: states down, purposes across (abbreviated in a legend so it fits a terminal)."""
    purposes = list(MessagePurpose)
    short = {p: f"P{i + 1}" for i, p in enumerate(purposes)}
    width = max(len(k.value) for k in ProtectiveKind)
    lines = [f"{pack.pack.value} {pack.version}: protective state x outbound purpose "
             f"(cease: '{pack.cease.request_means}', {pack.cease.acknowledgements_allowed} acknowledgement(s))",
             " " * width + "  " + " ".join(f"{short[p]:>7}" for p in purposes) + "  lift by     resume review"]
    for kind in ProtectiveKind:
        rule = pack.protective_states[kind]
        cells = " ".join(f"{_CELL[pack.effect(kind, p)]:>7}" for p in purposes)
        lines.append(f"{kind.value:<{width}}  {cells}  {rule.lift_requires:<11} {rule.resume_after_days:>6} "
                     f"{rule.review_after_days or '':>6}")
    lines.append("")
    lines += [f"  {short[p]:>3} = {p.value}" for p in purposes]
    return "\n".join(lines)
