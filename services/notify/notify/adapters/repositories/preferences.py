"""Users' delivery preferences and department robots in PostgreSQL."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from notify.adapters.orm import department_robots, org, preferences
from notify.domain.preferences import DepartmentRobot, Preferences, Robot, Rule
from shangji_kit import plans


def _to_preferences(row) -> Preferences:
    return Preferences(
        user_id=row.user_id, locale=row.locale, email=row.email,
        rules=tuple(Rule(r["notice_type"], tuple(r["channels"]), bool(r.get("digest"))) for r in row.rules),
        quiet_start=row.quiet_start, quiet_end=row.quiet_end, digest_time=row.digest_time,
        robots=tuple(Robot(r["channel"], r["url"], r.get("secret", ""), tuple(r.get("keywords", ())))
                     for r in row.robots),
        etag=row.etag)


class PreferencesRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    # Built once: every event that notifies someone reads their preferences (by key: its plan may be kept).
    _GET = plans.generic(sa.select(preferences).where(preferences.c.user_id == sa.bindparam("user_id")))

    def get(self, user_id: str) -> Preferences | None:
        row = self.session.execute(self._GET, {"user_id": user_id}).first()
        return _to_preferences(row) if row else None

    def save(self, prefs: Preferences, now: datetime) -> Preferences:
        """Upsert with the next etag."""
        values = {
            "user_id": prefs.user_id, "locale": prefs.locale, "email": prefs.email,
            "rules": [{"notice_type": r.notice_type, "channels": list(r.channels), "digest": r.digest}
                      for r in prefs.rules],
            "quiet_start": prefs.quiet_start, "quiet_end": prefs.quiet_end, "digest_time": prefs.digest_time,
            "robots": [{"channel": r.channel, "url": r.url, "secret": r.secret, "keywords": list(r.keywords)}
                       for r in prefs.robots],
            "etag": prefs.etag + 1, "update_time": now}
        stmt = pg.insert(preferences).values(**values)
        stmt = stmt.on_conflict_do_update(index_elements=[preferences.c.user_id],
                                          set_={k: stmt.excluded[k] for k in values if k != "user_id"})
        self.session.execute(stmt)
        return replace(prefs, etag=prefs.etag + 1)


def _to_robot(row) -> DepartmentRobot:
    return DepartmentRobot(id=row.id, department_id=row.department_id,
                           robot=Robot(row.channel, row.url, row.secret, tuple(row.keywords)),
                           notice_types=tuple(row.notice_types), create_time=row.create_time)


class RobotRepository:
    def __init__(self, session: sa.Connection) -> None:
        self.session = session

    def add(self, robot: DepartmentRobot) -> None:
        self.session.execute(sa.insert(department_robots).values(
            id=robot.id, department_id=robot.department_id, channel=robot.robot.channel, url=robot.robot.url,
            secret=robot.robot.secret, keywords=list(robot.robot.keywords), notice_types=list(robot.notice_types),
            create_time=robot.create_time))

    def list(self, department_id: str) -> list[DepartmentRobot]:
        r = department_robots
        stmt = sa.select(r).where(r.c.department_id == department_id).order_by(r.c.create_time, r.c.id)
        return [_to_robot(row) for row in self.session.execute(stmt)]

    # Built once: every notice's primary recipient is looked up for department robots (a user by key, then their
    # department's robots: its plan may be kept).
    _OF_MEMBERS_DEPARTMENT = plans.generic(
        sa.select(department_robots).join(org.users, org.users.c.department_id == department_robots.c.department_id)
        .where(org.users.c.user_id == sa.bindparam("user_id"))
        .order_by(department_robots.c.create_time, department_robots.c.id))

    def of_members_department(self, user_id: str) -> list[DepartmentRobot]:
        """The robots of the department ``user_id`` belongs to, in one query."""
        return [_to_robot(row) for row in self.session.execute(self._OF_MEMBERS_DEPARTMENT, {"user_id": user_id})]

    def get(self, department_id: str, robot_id: str) -> DepartmentRobot | None:
        r = department_robots
        row = self.session.execute(sa.select(r).where(r.c.department_id == department_id, r.c.id == robot_id)).first()
        return _to_robot(row) if row else None

    def delete(self, department_id: str, robot_id: str) -> bool:
        r = department_robots
        return self.session.execute(
            sa.delete(r).where(r.c.department_id == department_id, r.c.id == robot_id)).rowcount > 0
