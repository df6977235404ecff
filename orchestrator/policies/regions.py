"""Region names a policy's applicability rules may use: ISO 3166-1 alpha-2 codes and a few groups.

The groups are data, not logic, so a change in membership is a reviewed edit here. Switzerland
(`CH`) and the United Kingdom (`GB`) are plain country codes; `UK` is not ISO and is refused with
a hint rather than silently matching nobody.
"""

from __future__ import annotations

from collections.abc import Mapping

import pycountry

EU_27: frozenset[str] = frozenset(
    {
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
    }
)  # fmt: skip
"""The European Union's member states since 2020-02-01 (Greece is ISO `GR`, not the EU's `EL`)."""

EEA: frozenset[str] = EU_27 | {"IS", "LI", "NO"}
"""The European Economic Area: the EU plus Iceland, Liechtenstein and Norway."""

REGION_GROUPS: Mapping[str, frozenset[str]] = {"EU": EU_27, "EEA": EEA}


def countries_in(region: str) -> frozenset[str]:
    """The alpha-2 country codes a region name stands for."""
    return REGION_GROUPS.get(region, frozenset({region}))


def check_region(region: str) -> str:
    """Validator: a group name from `REGION_GROUPS` or an assigned ISO 3166-1 alpha-2 code."""
    if region in REGION_GROUPS:
        return region
    if region == "UK":
        raise ValueError("'UK' is not an ISO 3166-1 code; write 'GB' for the United Kingdom")
    if len(region) != 2 or not region.isupper() or pycountry.countries.get(alpha_2=region) is None:
        groups = ", ".join(REGION_GROUPS)
        raise ValueError(
            f"{region!r} is neither an ISO 3166-1 alpha-2 country code nor a group ({groups})"
        )
    return region
