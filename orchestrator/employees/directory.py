"""Reading an HR directory export (CSV or JSON) into validated rows, or a list of every problem.

Pure: no database. A file is either entirely valid or rejected with every bad row, column and
reason listed, so an admin fixes the export once instead of discovering problems one at a time.
"""

from __future__ import annotations

import csv
import io
import ipaddress
import json
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from http import HTTPStatus
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pycountry
from email_validator import EmailNotValidError, validate_email

from orchestrator.core.errors import OrchestratorError

FileFormat = Literal["csv", "json"]

REQUIRED_COLUMNS = ("email", "name", "department", "country")
OPTIONAL_COLUMNS = ("linkedin_url", "fleet_host", "time_zone")
ACCOUNT_COLUMN_PREFIX = "account_"
MAX_NAME_LENGTH = 300
MAX_DEPARTMENT_SEGMENT = 200
MAX_DEPARTMENT_PATH = 500
MAX_ACCOUNT_IDENTIFIER = 300

# Codes people and HR systems commonly write that are not ISO 3166-1 alpha-2 themselves.
COUNTRY_ALIASES = {
    "UK": "GB",
    "EL": "GR",  # the EU's own code for Greece
    "ENGLAND": "GB",
    "SCOTLAND": "GB",
    "WALES": "GB",
    "NORTHERN IRELAND": "GB",
    "USA": "US",
    "UNITED STATES OF AMERICA": "US",
    "KOREA": "KR",
    "SOUTH KOREA": "KR",
    "RUSSIA": "RU",
    "CZECHIA": "CZ",
    "HOLLAND": "NL",
    "THE NETHERLANDS": "NL",
}

_ACCOUNT_PLATFORM = re.compile(r"^[a-z][a-z0-9-]{0,39}$")
_LINKEDIN_PROFILE = re.compile(
    r"^(?:https?://)?(?:[a-z]{2,3}\.|www\.)?linkedin\.com/in/([A-Za-z0-9\-_%\u00c0-\uffff]{3,100})/?"
    r"(?:[?#].*)?$"
)
_HOSTNAME_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
# A dot-atom local part of common characters only: a strict subset of what RFC 5322 allows.
_PLAIN_LOCAL_PART = re.compile(r"^[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*$")


@dataclass(frozen=True)
class RowProblem:
    """One thing wrong with the file: where (row, column) and why."""

    row: int
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        if self.column:
            where += f", column {self.column!r}"
        return f"{where}: {self.reason}"


class DirectoryImportError(OrchestratorError):
    """The file was refused as a whole; `problems` lists every reason and nothing was imported."""

    status = HTTPStatus.UNPROCESSABLE_ENTITY

    def __init__(self, problems: list[RowProblem], *, source: str) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        super().__init__(f"{source} was rejected ({count} {noun}); nothing was imported")
        self.problems = problems
        self.source = source


@dataclass(frozen=True)
class DirectoryRow:
    """One valid employee record as the HR export states it, normalised."""

    row: int
    email: str
    name: str
    department: str
    country: str
    fleet_host: str | None
    accounts: dict[str, str] = field(default_factory=dict)
    time_zone: str | None = None


def is_time_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone this machine knows (run windows are read in it)."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _clean_text(value: str) -> str:
    return unicodedata.normalize("NFC", " ".join(value.split()))


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in value)


@lru_cache(maxsize=1024)
def normalise_country(value: str) -> str | None:
    """ISO 3166-1 alpha-2 code for a code, alias or English name; None when unknown."""
    key = " ".join(value.split()).upper()
    if key in COUNTRY_ALIASES:
        return COUNTRY_ALIASES[key]
    try:
        country = pycountry.countries.lookup(key)
    except LookupError:
        return None
    return str(country.alpha_2)


def normalise_department(value: str) -> str | None:
    """`Engineering / Platform` → `Engineering/Platform`; None when a segment is empty."""
    segments = [_clean_text(segment) for segment in value.split("/")]
    if not segments or any(not segment for segment in segments):
        return None
    return "/".join(segments)


def normalise_linkedin_url(value: str) -> str | None:
    """The canonical `https://www.linkedin.com/in/<slug>` form, or None if it is not one."""
    match = _LINKEDIN_PROFILE.match(value.strip())
    return None if match is None else f"https://www.linkedin.com/in/{match.group(1)}"


def is_valid_host(value: str) -> bool:
    """A DNS host name (RFC 1123) or an IP address, as an Ansible inventory accepts it."""
    if ":" in value:  # only IPv6 addresses have colons
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            return False
        return True
    if len(value) > 253:
        return False
    # Dotted IPv4 addresses pass this check too: their labels are digits.
    return all(_HOSTNAME_LABEL.match(label) for label in value.rstrip(".").split("."))


@lru_cache(maxsize=4096)
def _normalised_domain(domain: str) -> str:
    """The domain as email-validator normalises it; raises EmailNotValidError when invalid."""
    return validate_email(f"postmaster@{domain}", check_deliverability=False).domain


def normalise_email(raw: str) -> str:
    """The lower-cased, normalised address; raises EmailNotValidError with the reason.

    Plain ASCII addresses (the vast majority) have their local part checked by a strict pattern
    and their domain validated once per domain; everything else gets email-validator's full
    check. A directory of 100,000 people at one company validates in a fraction of the time.
    """
    local, at, domain = raw.rpartition("@")
    if at and len(local) <= 64 and len(raw) <= 254 and _PLAIN_LOCAL_PART.match(local):
        return f"{local}@{_normalised_domain(domain)}".lower()
    return str(validate_email(raw, check_deliverability=False).normalized).lower()


def _is_known_column(name: str) -> bool:
    if name in REQUIRED_COLUMNS or name in OPTIONAL_COLUMNS:
        return True
    platform = name.removeprefix(ACCOUNT_COLUMN_PREFIX).replace("_", "-")
    # LinkedIn has its own validated column; an account_linkedin column would bypass the check.
    return (
        name.startswith(ACCOUNT_COLUMN_PREFIX)
        and platform != "linkedin"
        and _ACCOUNT_PLATFORM.match(platform) is not None
    )


def _validate_columns(columns: Iterable[str]) -> tuple[dict[str, str], list[RowProblem]]:
    """Map the file's column names to ours; report unknown, duplicate and missing columns."""
    problems: list[RowProblem] = []
    mapping: dict[str, str] = {}
    seen: set[str] = set()
    for original in columns:
        name = original.strip().lower().replace(" ", "_").replace("-", "_")
        if name in seen:
            problems.append(RowProblem(1, original, "this column appears more than once"))
            continue
        seen.add(name)
        if _is_known_column(name):
            mapping[original] = name
        else:
            known = ", ".join((*REQUIRED_COLUMNS, *OPTIONAL_COLUMNS, "account_<platform>"))
            problems.append(RowProblem(1, original, f"unknown column (known columns: {known})"))
    for required in REQUIRED_COLUMNS:
        if required not in seen:
            problems.append(RowProblem(1, required, "required column is missing"))
    return mapping, problems


class _RowValidator:
    """Validates rows one by one, remembering emails to catch duplicates within the file."""

    def __init__(self) -> None:
        self.first_row_of_email: dict[str, int] = {}

    def validate(
        self, row_number: int, values: Mapping[str, str]
    ) -> tuple[DirectoryRow | None, list[RowProblem]]:
        problems: list[RowProblem] = []

        def problem(column: str, reason: str) -> None:
            problems.append(RowProblem(row_number, column, reason))

        email = self._email(row_number, values.get("email", ""), problem)
        name = _clean_text(values.get("name", ""))
        if not name:
            problem("name", "is empty")
        elif len(name) > MAX_NAME_LENGTH:
            problem("name", f"is longer than {MAX_NAME_LENGTH} characters")
        elif _has_control_characters(name):
            problem("name", "contains control characters")

        department = self._department(values.get("department", ""), problem)

        raw_country = values.get("country", "").strip()
        country = normalise_country(raw_country) if raw_country else None
        if not raw_country:
            problem("country", "is empty")
        elif country is None:
            problem(
                "country",
                f"unknown country {raw_country!r} "
                "(use an ISO 3166-1 alpha-2 code such as DE or GB)",
            )

        fleet_host = values.get("fleet_host", "").strip() or None
        if fleet_host is not None and not is_valid_host(fleet_host):
            problem("fleet_host", f"{fleet_host!r} is not a host name or IP address")

        time_zone = values.get("time_zone", "").strip() or None
        if time_zone is not None and not is_time_zone(time_zone):
            problem(
                "time_zone",
                f"unknown time zone {time_zone!r} (use an IANA name such as Europe/Berlin)",
            )

        accounts = self._accounts(values, problem)
        if problems or email is None or department is None or country is None:
            return None, problems
        return (
            DirectoryRow(
                row_number, email, name, department, country, fleet_host, accounts, time_zone
            ),
            [],
        )

    def _email(self, row_number: int, raw: str, problem: Any) -> str | None:
        raw = raw.strip()
        if not raw:
            problem("email", "is empty")
            return None
        try:
            email = normalise_email(raw)
        except EmailNotValidError as exc:
            problem("email", f"{raw!r} is not a valid email address: {exc}")
            return None
        first = self.first_row_of_email.setdefault(email, row_number)
        if first != row_number:
            problem("email", f"{raw!r} already appears in row {first} (emails ignore case)")
            return None
        return email

    @staticmethod
    def _department(raw: str, problem: Any) -> str | None:
        if not raw.strip():
            problem("department", "is empty")
            return None
        department = normalise_department(raw)
        if department is None:
            problem("department", f"{raw!r} has an empty part between slashes")
            return None
        if len(department) > MAX_DEPARTMENT_PATH or any(
            len(part) > MAX_DEPARTMENT_SEGMENT for part in department.split("/")
        ):
            problem("department", "is too long")
            return None
        return department

    @staticmethod
    def _accounts(values: Mapping[str, str], problem: Any) -> dict[str, str]:
        accounts: dict[str, str] = {}
        linkedin = values.get("linkedin_url", "").strip()
        if linkedin:
            normalised = normalise_linkedin_url(linkedin)
            if normalised is None:
                problem(
                    "linkedin_url",
                    f"{linkedin!r} is not a LinkedIn profile URL (https://www.linkedin.com/in/…)",
                )
            else:
                accounts["linkedin"] = normalised
        for column, value in values.items():
            if not column.startswith(ACCOUNT_COLUMN_PREFIX) or not value.strip():
                continue
            platform = column.removeprefix(ACCOUNT_COLUMN_PREFIX).replace("_", "-")
            identifier = value.strip()
            if len(identifier) > MAX_ACCOUNT_IDENTIFIER or _has_control_characters(identifier):
                problem(column, "is not a usable account identifier")
            else:
                accounts[platform] = identifier
        return accounts


def _decode(data: bytes, source: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise DirectoryImportError(
            [
                RowProblem(
                    line,
                    None,
                    f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}); "
                    "export it as UTF-8",
                )
            ],
            source=source,
        ) from exc


def _csv_records(text: str) -> Iterator[tuple[int, dict[str, str]] | RowProblem]:
    """(row number, values by our column name), or a problem; the header is row 1."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        yield RowProblem(0, None, "the file is empty (expected a header row)")
        return
    except csv.Error as exc:
        yield RowProblem(1, None, f"the header row cannot be read: {exc}")
        return
    mapping, header_problems = _validate_columns(header)
    yield from header_problems
    if header_problems:
        return
    names = [mapping[column] for column in header]
    row_number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowProblem(row_number + 1, None, f"the row cannot be read as CSV: {exc}")
            return
        row_number += 1
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(names):
            yield RowProblem(
                row_number, None, f"has {len(cells)} cells but the header has {len(names)} columns"
            )
            continue
        yield row_number, dict(zip(names, cells, strict=False))


def _json_records(text: str) -> Iterator[tuple[int, dict[str, str]] | RowProblem]:
    """(item number, values), or a problem; items are numbered from 1 in file order."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        yield RowProblem(0, None, f"not valid JSON: {exc.msg} at {where}")
        return
    if isinstance(document, dict) and set(document) == {"employees"}:
        document = document["employees"]
    if not isinstance(document, list):
        yield RowProblem(0, None, 'expected a JSON list of employees (or {"employees": [...]})')
        return
    for number, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            yield RowProblem(number, None, "is not a JSON object")
            continue
        mapping, column_problems = _validate_columns(item.keys())
        bad = False
        for found in column_problems:
            bad = True
            yield RowProblem(number, found.column, found.reason)
        values: dict[str, str] = {}
        for key, value in item.items():
            if key not in mapping:
                continue
            if value is None:
                values[mapping[key]] = ""
            elif isinstance(value, str):
                values[mapping[key]] = value
            else:
                bad = True
                yield RowProblem(number, key, f"must be a string, not {type(value).__name__}")
        if not bad:
            yield number, values


def detect_format(filename: str) -> FileFormat:
    """The format named by the file's extension."""
    lowered = filename.lower()
    if lowered.endswith(".csv"):
        return "csv"
    if lowered.endswith(".json"):
        return "json"
    raise DirectoryImportError(
        [RowProblem(0, None, "unknown file type: name it .csv or .json")], source=filename
    )


def read_directory(data: bytes, *, source: str, file_format: FileFormat) -> list[DirectoryRow]:
    """Every row of the export, validated; raises DirectoryImportError listing every problem."""
    text = _decode(data, source)
    records = _csv_records(text) if file_format == "csv" else _json_records(text)
    validator = _RowValidator()
    rows: list[DirectoryRow] = []
    problems: list[RowProblem] = []
    for record in records:
        if isinstance(record, RowProblem):
            problems.append(record)
            continue
        row, row_problems = validator.validate(*record)
        if row is None:
            problems.extend(row_problems)
        else:
            rows.append(row)
    if not rows and not problems:
        problems.append(RowProblem(0, None, "the file has no employee rows"))
    if problems:
        raise DirectoryImportError(problems, source=source)
    return rows
