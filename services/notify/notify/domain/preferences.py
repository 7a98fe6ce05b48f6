"""A user's delivery preferences and what they decide: which channels a notice reaches, and when.

Times of day (quiet hours, the digest) are in the company's time zone, given as a ``ZoneInfo``;
``now`` is always passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from urllib.parse import urlsplit

from notify.domain import channels
from notify.domain.templates import DEFAULT_LOCALE, LOCALES
from shangji_kit.errors import FieldViolation, InvalidArgument

DEFAULT_DIGEST_TIME = time(18, 0)


@dataclass(frozen=True)
class Robot:
    channel: str
    url: str
    secret: str = ""
    keywords: tuple[str, ...] = ()

    def endpoint(self) -> channels.Endpoint:
        return channels.Endpoint(self.channel, self.url, self.secret, self.keywords)


@dataclass(frozen=True)
class Rule:
    notice_type: str
    channels: tuple[str, ...]
    digest: bool = False


@dataclass(frozen=True)
class Plan:
    """One external delivery a notice needs: the channel, when it is due, and whether it waits for the digest."""

    channel: str
    due: datetime
    digest: bool


@dataclass(frozen=True)
class Preferences:
    user_id: str
    locale: str = DEFAULT_LOCALE
    email: str = ""
    rules: tuple[Rule, ...] = ()
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest_time: time = DEFAULT_DIGEST_TIME
    robots: tuple[Robot, ...] = ()
    etag: int = 0

    def robot(self, channel: str) -> Robot | None:
        return next((r for r in self.robots if r.channel == channel), None)

    def rule(self, notice_type: str) -> Rule | None:
        return next((r for r in self.rules if r.notice_type == notice_type), None)

    def plans(self, notice_type: str, now: datetime, tz: tzinfo) -> list[Plan]:
        """The external deliveries a notice of ``notice_type`` needs at ``now``: none unless a rule names it."""
        rule = self.rule(notice_type)
        if rule is None:
            return []
        if rule.digest:
            due, digest = next_time_of_day(now, self.digest_time, tz), True
        else:
            due, digest = self.after_quiet_hours(now, tz), False
        return [Plan(c, due, digest) for c in rule.channels if c != channels.IN_APP]

    def after_quiet_hours(self, now: datetime, tz: tzinfo) -> datetime:
        """``now``, or the end of the quiet hours ``now`` falls in."""
        if self.quiet_start is None or self.quiet_end is None or self.quiet_start == self.quiet_end:
            return now
        local = now.astimezone(tz)
        t = local.time().replace(tzinfo=None)
        start, end = self.quiet_start, self.quiet_end
        inside = start <= t < end if start < end else (t >= start or t < end)
        if not inside:
            return now
        return next_time_of_day(now, end, tz)

    def with_etag(self, etag: int) -> Preferences:
        return replace(self, etag=etag)


def next_time_of_day(now: datetime, at: time, tz: tzinfo) -> datetime:
    """The first instant at or after ``now`` whose wall-clock time in ``tz`` is ``at``."""
    local = now.astimezone(tz)
    candidate = datetime.combine(local.date(), at, tzinfo=tz)
    if candidate < local:
        candidate = datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)
    return candidate


def parse_time_of_day(value: str, field_name: str, violations: list[FieldViolation]) -> time | None:
    if not value:
        return None
    try:
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        violations.append(FieldViolation(field_name, f"must be HH:MM, got {value!r}"))
        return None


def check_robot(robot: Robot, field_name: str, *, development: bool, violations: list[FieldViolation]) -> None:
    """A robot must be a robot channel, at an https URL (http only in development), signed where the server
    verifies signatures."""
    if robot.channel not in channels.ROBOTS:
        violations.append(FieldViolation(f"{field_name}.channel", f"must be one of {', '.join(channels.ROBOTS)}"))
    parts = urlsplit(robot.url)
    allowed = ("https", "http") if development else ("https",)
    if parts.scheme not in allowed or not parts.hostname:
        need = "an http(s)" if development else "an https"
        violations.append(FieldViolation(f"{field_name}.url", f"must be {need} URL, got {robot.url!r}"))
    if robot.channel in channels.SIGNED and not robot.secret:
        violations.append(FieldViolation(f"{field_name}.secret", f"required: {robot.channel} messages are signed"))


def check(prefs: Preferences, notice_types: frozenset[str], *, development: bool, field_prefix: str = "preferences",
          times: dict[str, str] | None = None) -> None:
    """INVALID_ARGUMENT naming every bad field (not only the first)."""
    violations: list[FieldViolation] = []
    if prefs.locale not in LOCALES:
        violations.append(FieldViolation(f"{field_prefix}.locale", f"must be one of {', '.join(LOCALES)}"))
    if prefs.email and ("@" not in prefs.email or prefs.email.startswith("@") or prefs.email.endswith("@")):
        violations.append(FieldViolation(f"{field_prefix}.email", f"not an email address: {prefs.email!r}"))
    for i, rule in enumerate(prefs.rules):
        if rule.notice_type not in notice_types:
            violations.append(FieldViolation(f"{field_prefix}.rules[{i}].notice_type",
                                             f"unknown notice type {rule.notice_type!r}"))
        for c in rule.channels:
            if c not in channels.ALL:
                violations.append(FieldViolation(f"{field_prefix}.rules[{i}].channels", f"unknown channel {c!r}"))
            elif c in channels.ROBOTS and prefs.robot(c) is None:
                violations.append(FieldViolation(f"{field_prefix}.rules[{i}].channels",
                                                 f"{c} needs a robot in {field_prefix}.robots"))
    if len([r for r in prefs.rules]) != len({r.notice_type for r in prefs.rules}):
        violations.append(FieldViolation(f"{field_prefix}.rules", "one rule per notice type"))
    seen: set[str] = set()
    for i, robot in enumerate(prefs.robots):
        check_robot(robot, f"{field_prefix}.robots[{i}]", development=development, violations=violations)
        if robot.channel in seen:
            violations.append(FieldViolation(f"{field_prefix}.robots[{i}].channel", "one robot per channel"))
        seen.add(robot.channel)
    for name, value in (times or {}).items():
        parse_time_of_day(value, f"{field_prefix}.{name}", violations)
    if (prefs.quiet_start is None) != (prefs.quiet_end is None):
        violations.append(FieldViolation(f"{field_prefix}.quiet_end", "quiet_start and quiet_end go together"))
    if violations:
        raise InvalidArgument(violations)


@dataclass(frozen=True)
class DepartmentRobot:
    id: str
    department_id: str
    robot: Robot
    notice_types: tuple[str, ...] = field(default_factory=tuple)
    create_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"departments/{self.department_id}/robots/{self.id}"
