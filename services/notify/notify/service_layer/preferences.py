"""The preferences workflow: a user reads and changes which notices reach which channel, and when."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from notify.domain import preferences as prefs_rules
from notify.domain.preferences import Preferences
from notify.service_layer.context import Rules
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit.caller import user_id
from shangji_kit.errors import Aborted, NotFound

UPDATABLE = ("locale", "email", "rules", "quiet_start", "quiet_end", "digest_time", "robots")


def _own(caller_id: str, target_user_id: str) -> str:
    me = user_id(caller_id)
    # Someone else's preferences are answered like missing ones.
    if me != target_user_id:
        raise NotFound(f"users/{target_user_id}/notificationPreferences")
    return me


def get_preferences(caller_id: str, target_user_id: str, uow: NotifyUnitOfWork) -> Preferences:
    me = _own(caller_id, target_user_id)
    with uow:
        return uow.preferences.get(me) or Preferences(me)


def update_preferences(caller_id: str, target_user_id: str, changes: Preferences, paths: set[str], etag: str,
                       times: dict[str, str], uow: NotifyUnitOfWork, rules: Rules, now: datetime) -> Preferences:
    """Replace the fields in ``paths`` with those of ``changes``; INVALID_ARGUMENT naming every bad field and
    nothing stored; ABORTED when ``etag`` is given and stale."""
    me = _own(caller_id, target_user_id)
    with uow:
        current = uow.preferences.get(me) or Preferences(me)
        if etag and etag != str(current.etag):
            raise Aborted(f"users/{me}/notificationPreferences changed since etag {etag}")
        updated = replace(current, **{p: getattr(changes, p) for p in paths})
        if "robots" in paths:
            # A robot given without its secret keeps the one stored for its channel and URL.
            updated = replace(updated, robots=tuple(
                replace(r, secret=r.secret or _stored_secret(current, r)) for r in updated.robots))
        prefs_rules.check(updated, rules.catalogue.notice_types, development=rules.development,
                          times={k: v for k, v in times.items() if k in paths})
        saved = uow.preferences.save(updated, now)
        uow.commit()
        return saved


def _stored_secret(current: Preferences, robot: prefs_rules.Robot) -> str:
    old = current.robot(robot.channel)
    return old.secret if old is not None and old.url == robot.url else ""
