"""Inbound: notify's API requests read into the use cases' arguments (INVALID_ARGUMENT naming the field)."""

from __future__ import annotations

from notify.domain import channels
from notify.domain.preferences import DEFAULT_DIGEST_TIME, DepartmentRobot, Preferences, Robot, Rule
from notify.domain.preferences import parse_time_of_day as _time_of_day
from notify.service_layer.preferences import UPDATABLE
from shangji.notify.v1 import notify_pb2
from shangji_kit import fieldmask, names
from shangji_kit.errors import FieldViolation, InvalidArgument

PREFERENCES = "notificationPreferences"


def user_of_preferences(name: str, field: str = "name") -> str:
    """The user id in ``users/{id}/notificationPreferences``."""
    head, _, tail = name.rpartition("/")
    if tail != PREFERENCES:
        raise InvalidArgument.field(field, f"must look like users/{{id}}/{PREFERENCES}, got {name!r}")
    return names.parse(head, "users", field)


def channel(value: int, field: str) -> str:
    name = notify_pb2.Channel.Name(value) if value in notify_pb2.Channel.values() else ""
    if name not in channels.ALL:
        raise InvalidArgument.field(field, "required: a channel")
    return name


def robot(r: notify_pb2.Robot, field: str) -> Robot:
    return Robot(channel=channel(r.channel, f"{field}.channel"), url=r.url.strip(), secret=r.secret,
                 keywords=tuple(k for k in r.keywords if k))


def preferences(request: notify_pb2.UpdateNotificationPreferencesRequest) -> tuple[str, Preferences, set[str],
                                                                                      dict[str, str]]:
    """(user id, the new values, the paths to change, the raw times to check)."""
    p = request.preferences
    user_id = user_of_preferences(p.name, "preferences.name")
    paths = (fieldmask.check(request.update_mask.paths, UPDATABLE) if request.update_mask.paths else set(UPDATABLE))
    violations: list[FieldViolation] = []
    times = {"quiet_start": p.quiet_start, "quiet_end": p.quiet_end, "digest_time": p.digest_time}
    rules = []
    for i, r in enumerate(p.rules):
        chans = []
        for c in r.channels:
            name = notify_pb2.Channel.Name(c) if c in notify_pb2.Channel.values() else ""
            if name in channels.ALL:
                chans.append(name)
            else:
                violations.append(FieldViolation(f"preferences.rules[{i}].channels", f"unknown channel {c}"))
        rules.append(Rule(r.notice_type, tuple(dict.fromkeys(chans)), r.digest))
    robots = []
    for i, r in enumerate(p.robots):
        try:
            robots.append(robot(r, f"preferences.robots[{i}]"))
        except InvalidArgument as exc:
            violations += exc.violations
    parsed = {k: _time_of_day(v, f"preferences.{k}", violations) for k, v in times.items()}
    if violations:
        raise InvalidArgument(violations)
    changes = Preferences(user_id=user_id, locale=p.locale or "zh-CN", email=p.email.strip(), rules=tuple(rules),
                          quiet_start=parsed["quiet_start"], quiet_end=parsed["quiet_end"],
                          digest_time=parsed["digest_time"] or DEFAULT_DIGEST_TIME, robots=tuple(robots))
    return user_id, changes, paths, times


def department_robot(request: notify_pb2.CreateDepartmentRobotRequest) -> DepartmentRobot:
    department_id = names.parse(request.parent, "departments", "parent")
    if not request.HasField("robot"):
        raise InvalidArgument.field("robot", "required")
    return DepartmentRobot(id="", department_id=department_id, robot=robot(request.robot.robot, "robot.robot"),
                           notice_types=tuple(dict.fromkeys(request.robot.notice_types)))


def robot_name(name: str, field: str = "name") -> tuple[str, str]:
    """(department id, robot id) of ``departments/{id}/robots/{id}``."""
    parts = name.split("/")
    if len(parts) != 4 or parts[2] != "robots":
        raise InvalidArgument.field(field, f"must look like departments/{{id}}/robots/{{id}}, got {name!r}")
    return (names.parse("/".join(parts[:2]), "departments", field), names.parse("/".join(parts[2:]), "robots", field))


def optional_channel(value: int) -> str | None:
    return None if value == notify_pb2.CHANNEL_UNSPECIFIED else channel(value, "channel")
