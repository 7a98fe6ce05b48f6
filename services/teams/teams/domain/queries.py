"""What a list of users may be narrowed by (the repository turns it into SQL)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class UserFilter:
    department_path: str | None = None
    role: str = ""
    territory: str = ""
    expertise: str = ""
    include_inactive: bool = False
