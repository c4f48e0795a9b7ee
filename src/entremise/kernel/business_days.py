"""French business days: Monday to Friday, minus the public holidays of a territory.

Public holidays come from the `holidays` package (country "FR"). Metropolitan France uses the
national list. Some départements have more days off; the package knows them as subdivisions, and a
platform names its territory by département number, so this module maps one to the other:

| département | subdivision | extra public holidays |
| --- | --- | --- |
| 57 (Moselle) | `57` | Good Friday, 26 December (local law of Alsace-Moselle) |
| 67 (Bas-Rhin), 68 (Haut-Rhin) | `6AE` (Collectivité européenne d'Alsace) | Good Friday, 26 December |
| 971, 972, 973, 974, 976 | the same code | abolition of slavery day and others of each territory |
| 975, 977, 978, 984, 986, 987, 988 | `PM`, `BL`, `MF`, `TF`, `WF`, `PF`, `NC` | those of each territory |

Every other département of metropolitan France (01 to 95, 2A, 2B) has the national list only.
Pure: no clock, no I/O; holiday lists are computed once per (subdivision, year).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

# département (INSEE code) -> subdivision of holidays.France
DEPARTEMENT_SUBDIVISIONS: dict[str, str] = {
    "57": "57",
    "67": "6AE",
    "68": "6AE",
    "971": "971",
    "972": "972",
    "973": "973",
    "974": "974",
    "976": "976",
    "975": "PM",
    "977": "BL",
    "978": "MF",
    "984": "TF",
    "986": "WF",
    "987": "PF",
    "988": "NC",
}
_METROPOLITAN = re.compile(r"^(0[1-9]|[1-8][0-9]|9[0-5]|2A|2B)$")
MAX_BUSINESS_DAYS = 3660


def is_departement(code: str) -> bool:
    """A French département code: 01 to 95, 2A, 2B, or an overseas one listed above."""
    return code in DEPARTEMENT_SUBDIVISIONS or bool(_METROPOLITAN.match(code))


def subdivision_for(departement: str | None) -> str | None:
    """The `holidays` subdivision of a département (None: the national list applies).

    Raises ValueError for a code that is not a French département."""
    if departement is None:
        return None
    if not is_departement(departement):
        raise ValueError(f"{departement!r} is not a French département code")
    return DEPARTEMENT_SUBDIVISIONS.get(departement)


@lru_cache(maxsize=512)
def _holidays(subdivision: str | None, year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("FR", subdiv=subdivision, years=year).keys())


@dataclass(frozen=True)
class BusinessCalendar:
    """Business days of a French territory (`departement` None: metropolitan France)."""

    departement: str | None = None

    def __post_init__(self) -> None:
        subdivision_for(self.departement)  # refuses an unknown code at once

    @property
    def subdivision(self) -> str | None:
        return subdivision_for(self.departement)

    def public_holidays(self, year: int) -> frozenset[date]:
        return _holidays(self.subdivision, year)

    def is_public_holiday(self, day: date) -> bool:
        return day in self.public_holidays(day.year)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and not self.is_public_holiday(day)

    def next_business_day(self, day: date) -> date:
        """`day` itself when it is a business day, else the first business day after it."""
        while not self.is_business_day(day):
            day += timedelta(days=1)
        return day

    def add_business_days(self, day: date, count: int) -> date:
        """The `count`-th business day after `day` (`day` itself does not count)."""
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_BUSINESS_DAYS:
            raise ValueError(f"count must be an int from 0 to {MAX_BUSINESS_DAYS}")
        left = count
        while left:
            day += timedelta(days=1)
            if self.is_business_day(day):
                left -= 1
        return day
