"""Time is stored in UTC, compared on the server, shown in the viewer's zone."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, available_timezones

from flask import has_request_context
from flask_login import current_user


def zone(name: str | None) -> ZoneInfo:
    return ZoneInfo(name or "UTC")


def viewer_timezone() -> str:
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.effective_timezone
    return "UTC"


def to_zone(instant: datetime, name: str | None) -> datetime:
    return instant.astimezone(zone(name))


def format_instant(instant: datetime | None, name: str | None = None, *, seconds: bool = False) -> str:
    if instant is None:
        return ""
    local = to_zone(instant, name or viewer_timezone())
    shape = "%Y-%m-%d %H:%M:%S %Z (UTC%z)" if seconds else "%Y-%m-%d %H:%M %Z (UTC%z)"
    return local.strftime(shape).replace("(UTC+0000)", "").strip()


def local_to_utc(naive_local: datetime, name: str) -> datetime:
    """Interpret a naive wall-clock time in zone `name` and return it in UTC."""
    return naive_local.replace(tzinfo=zone(name)).astimezone(UTC)


def timezone_choices():
    common = ["UTC", "Asia/Shanghai", "Europe/Brussels"]
    rest = sorted(z for z in available_timezones() if z not in common and "/" in z)
    from cfp.core.forms import options

    return options((z, z) for z in common + rest)
