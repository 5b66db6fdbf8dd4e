"""Business hours: when the support team answers handoffs.

Configuration language (``BUSINESS_HOURS``): ``always``, or ``<days> <HH:MM>-<HH:MM> [<IANA zone>]`` with days
as ``Mon-Fri`` / ``Mon,Wed,Sat`` / ``Sat-Sun``; several windows separated by ``;``, e.g.
``Mon-Fri 09:00-18:00 Europe/Berlin; Sat 10:00-14:00 Europe/Berlin``. ``24:00`` means end of day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.errors import ConfigError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Window:
    days: frozenset[int]  # 0 = Monday
    start: time
    end: time | None  # None = end of day (24:00)
    zone: str

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.zone))
        if local.weekday() not in self.days:
            return False
        now = local.time().replace(tzinfo=None)
        return self.start <= now and (self.end is None or now < self.end)


@dataclass(frozen=True)
class BusinessHours:
    windows: tuple[Window, ...]  # empty = always open
    spec: str = "always"

    def is_open(self, moment: datetime | None = None) -> bool:
        if not self.windows:
            return True
        moment = moment or datetime.now(timezone.utc)
        return any(window.contains(moment) for window in self.windows)


def _parse_days(text: str, spec: str) -> frozenset[int]:
    days: set[int] = set()
    for part in text.lower().split(","):
        bounds = part.split("-")
        if not all(b in DAYS for b in bounds) or len(bounds) > 2:
            raise ConfigError("BUSINESS_HOURS", spec, f"days among {', '.join(DAYS)} (e.g. Mon-Fri)")
        first, last = DAYS.index(bounds[0]), DAYS.index(bounds[-1])
        days.update(range(first, last + 1) if first <= last else [*range(first, 7), *range(0, last + 1)])
    return frozenset(days)


def _parse_time(text: str, spec: str) -> time | None:
    if text == "24:00":
        return None
    try:
        hours, minutes = (int(x) for x in text.split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ConfigError("BUSINESS_HOURS", spec, "times as HH:MM between 00:00 and 24:00") from None


def parse_business_hours(spec: str) -> BusinessHours:
    spec = spec.strip()
    if spec.lower() in ("", "always", "24/7"):
        return BusinessHours(windows=(), spec="always")
    windows = []
    for chunk in spec.split(";"):
        fields = chunk.split()
        if len(fields) not in (2, 3) or "-" not in fields[1]:
            raise ConfigError("BUSINESS_HOURS", spec, "'always' or 'Mon-Fri 09:00-18:00 Europe/Berlin'")
        zone = fields[2] if len(fields) == 3 else "UTC"
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError("BUSINESS_HOURS", spec, f"an IANA time zone, not {zone!r}") from None
        start_text, end_text = fields[1].split("-", 1)
        start = _parse_time(start_text, spec) or time(0, 0)
        windows.append(Window(_parse_days(fields[0], spec), start, _parse_time(end_text, spec), zone))
    return BusinessHours(windows=tuple(windows), spec=spec)
