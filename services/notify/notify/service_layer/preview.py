"""Previewing a template: a notice type in a locale with given variables, as each channel shows it."""

from __future__ import annotations

from notify.domain.channels import Message
from notify.domain.templates import LOCALES, link_to
from notify.service_layer.context import Rules
from shangji_kit.errors import FieldViolation, InvalidArgument


def preview(notice_type: str, locale: str, variables: dict[str, str], subject: str,
            rules: Rules) -> tuple[Message, list[str]]:
    violations = []
    if notice_type not in rules.catalogue.notice_types:
        violations.append(FieldViolation("notice_type", f"unknown notice type {notice_type!r}"))
    if locale and locale not in LOCALES:
        violations.append(FieldViolation("locale", f"must be one of {', '.join(LOCALES)}"))
    if violations:
        raise InvalidArgument(violations)
    message = rules.catalogue.render(notice_type, dict(variables), locale or LOCALES[0],
                                     link=link_to(rules.link_base, subject), subject=subject)
    return message, rules.catalogue.variables(notice_type)
