"""The department robots workflow: a department's head (or sales_ops, admin) adds, lists and removes the
group robots that take its team-wide notices."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from notify.domain import preferences as prefs_rules
from notify.domain.preferences import DepartmentRobot
from notify.service_layer.context import Rules
from notify.service_layer.unit_of_work import NotifyUnitOfWork
from shangji_kit.caller import user_id
from shangji_kit.errors import FieldViolation, InvalidArgument, NotFound, PermissionDenied

ADMIN_ROLES = frozenset({"sales_ops", "admin"})


def _may_manage(uow: NotifyUnitOfWork, caller_id: str, department_id: str) -> bool:
    me = user_id(caller_id)
    return bool(set(uow.org.roles_of(me)) & ADMIN_ROLES) or uow.org.manages_department(
        me, department_id)


def create_robot(caller_id: str, robot: DepartmentRobot, uow: NotifyUnitOfWork, rules: Rules,
                 now: datetime) -> DepartmentRobot:
    with uow:
        if not _may_manage(uow, caller_id, robot.department_id):
            raise PermissionDenied(f"only the head of departments/{robot.department_id}, sales_ops or admin "
                                   "may add its robots", reason="NOT_DEPARTMENT_HEAD")
        violations: list[FieldViolation] = []
        prefs_rules.check_robot(robot.robot, "robot.robot", development=rules.development, violations=violations)
        known = rules.catalogue.notice_types
        for i, kind in enumerate(robot.notice_types):
            if kind not in known:
                violations.append(FieldViolation(f"robot.notice_types[{i}]", f"unknown notice type {kind!r}"))
        if not robot.notice_types:
            violations.append(FieldViolation("robot.notice_types", "required: the team-wide notices it takes"))
        if violations:
            raise InvalidArgument(violations)
        made = replace(robot, id=str(uuid.uuid4()), create_time=now)
        uow.robots.add(made)
        uow.commit()
        return made


def list_robots(caller_id: str, department_id: str, uow: NotifyUnitOfWork) -> list[DepartmentRobot]:
    with uow:
        if not _may_manage(uow, caller_id, department_id):
            raise PermissionDenied(f"only the head of departments/{department_id}, sales_ops or admin "
                                   "may see its robots", reason="NOT_DEPARTMENT_HEAD")
        return uow.robots.list(department_id)


def delete_robot(caller_id: str, department_id: str, robot_id: str, uow: NotifyUnitOfWork) -> None:
    with uow:
        if not _may_manage(uow, caller_id, department_id):
            raise PermissionDenied(f"only the head of departments/{department_id}, sales_ops or admin "
                                   "may remove its robots", reason="NOT_DEPARTMENT_HEAD")
        if not uow.robots.delete(department_id, robot_id):
            raise NotFound(f"departments/{department_id}/robots/{robot_id}")
        uow.commit()
