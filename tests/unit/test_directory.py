"""Reading HR exports: what an admin sees for good and bad files (no database involved)."""

from __future__ import annotations

import json

import pytest

from orchestrator.employees.directory import (
    DirectoryImportError,
    detect_format,
    normalise_country,
    read_directory,
)

HEADER = "email,name,department,country,linkedin_url,fleet_host\n"


def read_csv(text: str | bytes) -> list:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return read_directory(data, source="people.csv", file_format="csv")


def problems_of(text: str | bytes, file_format: str = "csv") -> list[tuple[int, str | None, str]]:
    data = text.encode("utf-8") if isinstance(text, str) else text
    with pytest.raises(DirectoryImportError) as caught:
        read_directory(data, source="people." + file_format, file_format=file_format)
    return [(p.row, p.column, p.reason) for p in caught.value.problems]


def test_valid_rows_are_normalised() -> None:
    rows = read_csv(
        HEADER + "Ann.Lee@Example.COM, Ann  Lee ,Engineering / Platform,uk,"
        "https://uk.linkedin.com/in/ann-lee/?trk=x,laptop-ann.corp.example\n"
        "bob@example.com,Bob,Sales,United States,,10.0.0.7\n"
    )
    ann, bob = rows
    assert (ann.row, ann.email, ann.name, ann.department, ann.country) == (
        2,
        "ann.lee@example.com",
        "Ann Lee",
        "Engineering/Platform",
        "GB",
    )
    assert ann.accounts == {"linkedin": "https://www.linkedin.com/in/ann-lee"}
    assert ann.fleet_host == "laptop-ann.corp.example"
    assert (bob.country, bob.accounts, bob.fleet_host) == ("US", {}, "10.0.0.7")


def test_a_time_zone_must_be_an_iana_name() -> None:
    header = "email,name,department,country,time_zone\n"
    [ann, bob] = read_csv(
        header + "ann@example.com,Ann,Ops,DE,Europe/Berlin\nbob@example.com,Bob,Ops,US,\n"
    )
    assert (ann.time_zone, bob.time_zone) == ("Europe/Berlin", None)
    [(row, column, reason)] = problems_of(header + "c@example.com,C,Ops,DE,CET+5\n")
    assert (row, column) == (2, "time_zone")
    assert "unknown time zone 'CET+5'" in reason


def test_bom_and_names_in_any_script_are_read() -> None:
    text = (
        HEADER
        + "li@example.cn,李小龙,研发/平台,CN,,\nzoe@example.gr,Ζωή Παπαδοπούλου,Πωλήσεις,EL,,\n"
    )
    rows = read_csv(b"\xef\xbb\xbf" + text.encode("utf-8"))
    assert [(r.name, r.department, r.country) for r in rows] == [
        ("李小龙", "研发/平台", "CN"),
        ("Ζωή Παπαδοπούλου", "Πωλήσεις", "GR"),
    ]


def test_every_bad_row_is_reported_with_row_column_and_reason() -> None:
    found = problems_of(
        HEADER
        + "ok@example.com,Ok,Sales,DE,,\n"  # row 2 is fine
        + "not-an-email,Bad Email,Sales,DE,,\n"  # 3
        + "OK@example.com,Duplicate,Sales,DE,,\n"  # 4
        + "c@example.com,Unknown Country,Sales,XX,,\n"  # 5
        + "d@example.com,,Sales,DE,,\n"  # 6: missing name
        + "e@example.com,Empty Dept,,DE,,\n"  # 7
        + "f@example.com,Slashes,Eng//Platform,DE,,\n"  # 8
        + "g@example.com,Bad Link,Sales,DE,https://example.com/in/g,\n"  # 9
        + "h@example.com,Bad Host,Sales,DE,,bad_host!\n"  # 10
        + "i@example.com,Too,Many,DE,,,extra\n"  # 11
    )
    by_row = {(row, column) for row, column, _ in found}
    assert by_row == {
        (3, "email"),
        (4, "email"),
        (5, "country"),
        (6, "name"),
        (7, "department"),
        (8, "department"),
        (9, "linkedin_url"),
        (10, "fleet_host"),
        (11, None),
    }
    reasons = {(row, column): reason for row, column, reason in found}
    assert "already appears in row 2" in reasons[(4, "email")]
    assert "unknown country 'XX'" in reasons[(5, "country")]
    assert "7 cells" in reasons[(11, None)]


def test_unknown_duplicate_and_missing_columns_are_named() -> None:
    found = problems_of("email,Email,name,department,salary\nx@example.com,,X,Y,1\n")
    assert (1, "Email", "this column appears more than once") in found
    assert any(column == "salary" and "unknown column" in reason for _, column, reason in found)
    assert (1, "country", "required column is missing") in found


def test_wrong_encoding_names_the_line() -> None:
    data = (
        HEADER + "a@example.com,Ann,Sales,DE,,\n"
    ).encode() + "b@example.com,Bérénice,Sales,FR,,\n".encode("latin-1")
    [(line, column, reason)] = problems_of(data)
    assert line == 3 and column is None
    assert "not UTF-8" in reason and "0xe9" in reason


def test_empty_file_and_header_only_are_rejected() -> None:
    assert problems_of("")[0][2].startswith("the file is empty")
    assert problems_of(HEADER)[0][2] == "the file has no employee rows"


def test_json_list_or_wrapped_object() -> None:
    people = [
        {"email": "a@example.com", "name": "Ann", "department": "Ops", "country": "fr"},
        {
            "email": "b@example.com",
            "name": "Bo",
            "department": "Ops",
            "country": "IE",
            "account_x": "@bo",
            "fleet_host": None,
        },
    ]
    for document in (people, {"employees": people}):
        rows = read_directory(json.dumps(document).encode(), source="p.json", file_format="json")
        assert [(r.email, r.country) for r in rows] == [
            ("a@example.com", "FR"),
            ("b@example.com", "IE"),
        ]
        assert rows[1].accounts == {"x": "@bo"}


def test_json_problems_name_item_and_key() -> None:
    document = [
        {"email": "a@example.com", "name": 7, "department": "Ops", "country": "FR"},
        "not an object",
        {"email": "c@example.com", "name": "C", "department": "Ops"},
    ]
    found = problems_of(json.dumps(document), "json")
    assert (1, "name", "must be a string, not int") in found
    assert (2, None, "is not a JSON object") in found
    assert (3, "country", "required column is missing") in found
    syntax = problems_of('[{"email": "a@example.com",,}]', "json")
    assert "line 1, column" in syntax[0][2]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("UK", "GB"),
        ("gb", "GB"),
        ("EL", "GR"),
        ("Germany", "DE"),
        ("DEU", "DE"),
        ("Atlantis", None),
    ],
)
def test_country_aliases(given: str, expected: str | None) -> None:
    assert normalise_country(given) == expected


def test_unknown_file_type() -> None:
    with pytest.raises(DirectoryImportError, match="was rejected"):
        detect_format("people.xlsx")
