"""One-time links that bind a Telegram chat to a cardholder.

The bot cannot start a chat, and a chat id says nothing about who holds it. Accord sends a deep link by SMS to
the cardholder's registered phone; whoever opens it in Telegram has that phone, which proves possession. Only a
hash of each token is stored, so a database read does not yield usable links.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables.base import Base


class BindingToken(Base):
    __tablename__ = "binding_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token in the link
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id", ondelete="CASCADE"), index=True)
    # The SMS contact point the link was sent to: its possession is what redeeming the link proves.
    sent_to_contact_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_points.id", ondelete="SET NULL")
    )
    channel: Mapped[str] = mapped_column(String(16))  # the channel being bound, e.g. "telegram"
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    used_by_address: Mapped[str | None] = mapped_column(String(64))  # the chat id that redeemed it
