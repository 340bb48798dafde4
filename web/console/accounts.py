"""Console accounts: creation, password checks (argon2id) and login throttling per username and address."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.tables import ConsoleUser, LoginThrottle
from web.console.config import ThrottleModel
from web.console.roles import Role

USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 12
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified when the username is unknown, so a wrong name costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("accord-dummy-password")


class AccountError(ValueError):
    """A request about an account is wrong; the message says what."""


class LoginResult(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"


@dataclass(frozen=True)
class LoginAttempt:
    result: LoginResult
    user: ConsoleUser | None = None
    locked_until: datetime | None = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def add_user(session: Session, username: str, role: str, password: str, now: datetime,
             language: str = "en") -> ConsoleUser:
    if not USERNAME_RE.match(username):
        raise AccountError(
            f"username {username!r} is not valid: use 2-64 lower-case letters, digits, '.', '_' or '-'"
        )
    try:
        Role(role)
    except ValueError as exc:
        raise AccountError(f"role {role!r} is not one of {', '.join(r.value for r in Role)}") from exc
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"password too short: at least {MIN_PASSWORD} characters")
    if language not in ("zh", "en"):
        raise AccountError(f"language {language!r} is not zh or en")
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.username == username)) is not None:
        raise AccountError(f"user {username!r} already exists")
    user = ConsoleUser(username=username, role=role, password_hash=hash_password(password), language=language,
                       active=True, session_epoch=0, created_at=now)
    session.add(user)
    session.flush()
    return user


def _throttle_key(username: str, ip: str) -> str:
    return f"{username[:64]}|{ip[:120]}"


def authenticate(session: Session, username: str, password: str, ip: str, now: datetime,
                 limits: ThrottleModel) -> LoginAttempt:
    """Check a login. Locked pairs are refused before the password is even looked at."""
    key = _throttle_key(username, ip)
    throttle = session.get(LoginThrottle, key, with_for_update=True)
    if throttle and throttle.locked_until and throttle.locked_until > now:
        return LoginAttempt(LoginResult.LOCKED, locked_until=throttle.locked_until)
    user = session.scalar(select(ConsoleUser).where(ConsoleUser.username == username))
    if _password_matches(user, password) and user is not None and user.active:
        if throttle is not None:
            session.delete(throttle)
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = hash_password(password)
        user.last_login_at = now
        return LoginAttempt(LoginResult.OK, user=user)
    return _record_failure(session, throttle, key, now, limits)


def _password_matches(user: ConsoleUser | None, password: str) -> bool:
    try:
        return _hasher.verify(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def _record_failure(session: Session, throttle: LoginThrottle | None, key: str, now: datetime,
                    limits: ThrottleModel) -> LoginAttempt:
    window = timedelta(minutes=limits.window_minutes)
    if throttle is None:
        throttle = LoginThrottle(key=key, failures=0, window_started_at=now)
        session.add(throttle)
    elif throttle.window_started_at + window <= now:
        throttle.failures, throttle.window_started_at, throttle.locked_until = 0, now, None
    throttle.failures += 1
    if throttle.failures >= limits.max_failures:
        throttle.locked_until = now + timedelta(minutes=limits.lockout_minutes)
        throttle.failures, throttle.window_started_at = 0, now
        return LoginAttempt(LoginResult.LOCKED, locked_until=throttle.locked_until)
    return LoginAttempt(LoginResult.BAD_CREDENTIALS)
