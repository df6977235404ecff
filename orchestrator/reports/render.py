"""Rendering a department report as HTML, PDF, CSV or JSON, each streamed as bytes.

Every format carries the report's parameters (scope, as-of moment, when and by whom). HTML is
one self-contained file (inline CSS and an SVG chart) from a Jinja2 template with autoescaping,
so names from the HR directory stay text; the PDF is that HTML laid out by WeasyPrint; CSV cells
that a spreadsheet would run as a formula are neutralised; JSON follows `report.schema.json`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from pydantic import TypeAdapter

from orchestrator.core.clock import as_utc
from orchestrator.reports.department import DepartmentReport, ReportRow
from orchestrator.reports.statuses import Status

SCHEMA_ID = "optout-department-report/1"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ReportFormat(StrEnum):
    HTML = "html"
    PDF = "pdf"
    CSV = "csv"
    JSON = "json"


_MEDIA_TYPES = {
    ReportFormat.HTML: "text/html; charset=utf-8",
    ReportFormat.PDF: "application/pdf",
    ReportFormat.CSV: "text/csv; charset=utf-8",
    ReportFormat.JSON: "application/json",
}


def report_media_type(fmt: ReportFormat) -> str:
    """The Content-Type of a rendered report."""
    return _MEDIA_TYPES[fmt]


def report_file_name(report: DepartmentReport, fmt: ReportFormat) -> str:
    """A file name that says what the report covers and for when."""
    params = report.params
    scope = re.sub(r"[^A-Za-z0-9]+", "-", params.department or "all").strip("-").lower()
    moment = params.as_of or params.generated_at
    return f"compliance-{scope or 'department'}-{as_utc(moment):%Y%m%dT%H%MZ}.{fmt.value}"


def render_report(report: DepartmentReport, fmt: ReportFormat) -> Iterator[bytes]:
    """The report in `fmt`, in chunks (the API streams them, the CLI writes them)."""
    if fmt is ReportFormat.JSON:
        yield report_json(report)
    elif fmt is ReportFormat.CSV:
        yield from _csv(report)
    elif fmt is ReportFormat.HTML:
        for chunk in _template().generate(**_html_context(report)):
            yield chunk.encode("utf-8")
    else:
        yield _pdf(report)


# --- JSON -----------------------------------------------------------------------------------

_ADAPTER: TypeAdapter[DepartmentReport] = TypeAdapter(DepartmentReport)


def report_json(report: DepartmentReport) -> bytes:
    """The report as JSON (schema: `report_json_schema()`)."""
    body = _ADAPTER.dump_python(report, mode="json")
    return json.dumps({"schema": SCHEMA_ID, **body}, indent=2, ensure_ascii=False).encode()


def report_json_schema() -> dict[str, Any]:
    """The JSON Schema of `report_json`, generated from the report's types."""
    schema = _ADAPTER.json_schema(mode="serialization")
    schema["$id"] = SCHEMA_ID
    schema["properties"] = {"schema": {"const": SCHEMA_ID}, **schema["properties"]}
    schema["required"] = ["schema", *schema["required"]]
    schema["description"] = (
        "A compliance report by department and policy. `rows` has one entry per department "
        "(its sub-departments included) and policy; `counts` and `percentages` are keyed by "
        "status (see `statuses`); times are UTC."
    )
    return schema


# --- CSV ------------------------------------------------------------------------------------


def safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will show as text: a leading = + - @ (or tab, CR) is quoted."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _iso(value: datetime | None) -> str:
    return "" if value is None else as_utc(value).isoformat()


def _csv(report: DepartmentReport) -> Iterator[bytes]:
    params = report.params
    statuses = [Status(s) for s in report.statuses]
    header = ["department", "policy_id", "platform", "total"]
    header += [f"{s.value}" for s in statuses] + [f"{s.value}_percent" for s in statuses]
    header += ["mean_days_to_compliance", "mean_exposure_days", "max_exposure_days"]
    header += ["scope", "as_of", "generated_at", "generated_by"]
    trailer = [params.scope, _iso(params.as_of), _iso(params.generated_at), params.generated_by]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(row: ReportRow) -> list[Any]:
        return [
            row.department,
            row.policy_id,
            row.platform,
            row.total,
            *(row.counts[s.value] for s in statuses),
            *(row.percentages[s.value] for s in statuses),
            row.mean_days_to_compliance,
            row.mean_exposure_days,
            row.max_exposure_days,
            *trailer,
        ]

    writer.writerow(header)
    for row in (*report.rows, *report.totals):
        writer.writerow([safe_cell(cell) for cell in line(row)])
        if buffer.tell() > 1 << 16:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


# --- HTML and PDF ---------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("orchestrator.reports", "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _template() -> Any:
    return _environment().get_template("report.html")


_BAR_HEIGHT = 18
_CHART_WIDTH = 360


def _html_context(report: DepartmentReport) -> dict[str, Any]:
    chart = [
        {
            "name": name,
            "percent": percent,
            "pairs": pairs,
            "width": round(_CHART_WIDTH * percent / 100, 1),
            "y": index * (_BAR_HEIGHT + 6),
        }
        for index, (name, percent, pairs) in enumerate(report.chart())
    ]
    return {
        "report": report,
        "params": report.params,
        "statuses": [Status(s) for s in report.statuses],
        "chart": chart,
        "chart_width": _CHART_WIDTH,
        "chart_height": max(len(chart), 1) * (_BAR_HEIGHT + 6),
        "bar_height": _BAR_HEIGHT,
        "when": lambda value: "" if value is None else f"{as_utc(value):%Y-%m-%d %H:%M} UTC",
        "number": lambda value: "–" if value is None else f"{value:g}",
    }


def render_html(report: DepartmentReport) -> str:
    """The whole HTML page as one string (the PDF is laid out from it)."""
    return _template().render(**_html_context(report))


def _pdf(report: DepartmentReport) -> bytes:
    from weasyprint import HTML  # heavy: loaded only when a PDF is asked for

    pdf: bytes = HTML(string=render_html(report)).write_pdf()
    return pdf
