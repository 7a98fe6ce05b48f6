"""Notice templates as data: ``notices.json`` holds, per locale, each notice type's title and body
(``str.format`` over the event's variables) and the vocabulary derived wording uses."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources


@cache
def load() -> dict:
    return json.loads(resources.files(__package__).joinpath("notices.json").read_text(encoding="utf-8"))
