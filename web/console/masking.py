"""Personal data on console pages, masked by role with the same helpers the logs use.

Officers see what a case needs: the name of a cardholder whose conversation they hold, masked contact
addresses, and never the verification secrets (card digits, birth year). Compliance sees everything, and each
page that shows unmasked data writes an audit event naming the records it showed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accord.log_masking import mask_address, mask_name
from web.console.deps import CurrentUser
from web.console.roles import Perm


@dataclass
class Viewer:
    unmasked: bool
    # Subjects shown unmasked on this page ("cardholder:12"), collected for one audit event per page.
    revealed: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, user: CurrentUser) -> Viewer:
        return cls(unmasked=user.can(Perm.UNMASKED))

    def note(self, subject: str) -> None:
        if self.unmasked:
            self.revealed.add(subject)


def display_name(name: str, viewer: Viewer, *, case_needs: bool = False, subject: str | None = None) -> str:
    if viewer.unmasked or case_needs:
        if subject:
            viewer.note(subject)
        return name
    return mask_name(name)


def display_address(address: str | None, viewer: Viewer, subject: str | None = None) -> str:
    if not address:
        return "—"
    if viewer.unmasked:
        if subject:
            viewer.note(subject)
        return address
    return mask_address(address)


def display_secret(value: object, viewer: Viewer, subject: str | None = None) -> str:
    """Verification facts (card last 4, birth year): compliance only."""
    if value is None:
        return "—"
    if viewer.unmasked:
        if subject:
            viewer.note(subject)
        return str(value)
    return "•" * len(str(value))
