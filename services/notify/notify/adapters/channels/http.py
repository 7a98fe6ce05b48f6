"""The one HTTP POST every robot adapter makes: JSON in, JSON out, failures as DeliveryFailed."""

from __future__ import annotations

import json

import requests

from notify.domain.channels import DeliveryFailed

TIMEOUT_SECONDS = 10.0


def post_json(url: str, body: bytes, headers: dict[str, str] | None = None,
              timeout: float = TIMEOUT_SECONDS) -> dict:
    """POST ``body`` (JSON bytes); the JSON answer of a 2xx, DeliveryFailed otherwise."""
    try:
        response = requests.post(url, data=body, timeout=timeout,
                                 headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})})
    except requests.RequestException as exc:
        raise DeliveryFailed(f"{type(exc).__name__}: {exc}"[:500]) from exc
    if response.status_code == 429:
        raise DeliveryFailed("HTTP 429 rate limited", retry_after=_seconds(response.headers.get("Retry-After")))
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"HTTP {response.status_code}: {response.text[:300]}")
    try:
        return response.json() if response.content else {}
    except ValueError:
        return {}


def dumps(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None
