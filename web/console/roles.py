"""Who may do what in the console. Every page and action names one permission; roles grant sets of them.

Admins manage accounts but see no cardholder data: administering the tool is not a reason to read debts.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    OFFICER = "officer"
    SUPERVISOR = "supervisor"
    COMPLIANCE = "compliance"
    ADMIN = "admin"


class Perm(StrEnum):
    DESK = "desk"  # queue, conversation view, claim, reply, plan proposal, outcomes, hand-back
    APPROVE_PLANS = "approve_plans"
    REVIEW = "review"  # message log, decisions, exports, dashboards
    TEMPLATES = "templates"  # draft, approve and retire catalog templates
    AUDIT = "audit"  # audit-chain status
    USERS = "users"  # console accounts
    UNMASKED = "unmasked"  # sees personal data in full (every such view is audited)


GRANTS: dict[Role, frozenset[Perm]] = {
    Role.OFFICER: frozenset({Perm.DESK}),
    Role.SUPERVISOR: frozenset({Perm.DESK, Perm.APPROVE_PLANS, Perm.REVIEW}),
    Role.COMPLIANCE: frozenset({Perm.REVIEW, Perm.TEMPLATES, Perm.AUDIT, Perm.UNMASKED}),
    Role.ADMIN: frozenset({Perm.USERS, Perm.AUDIT}),
}


def allowed(role: str, perm: Perm) -> bool:
    try:
        return perm in GRANTS[Role(role)]
    except ValueError:
        return False


def home_for(role: str) -> str:
    """Where a user lands after login: the first page their role can open."""
    if allowed(role, Perm.DESK):
        return "/console/queue"
    if allowed(role, Perm.REVIEW):
        return "/console/review/messages"
    return "/console/admin/users"
