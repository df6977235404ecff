"""Reports: what auditors and leadership read, derived read-only from the other rooms' tables.

Owns the status of each employee on each policy (`statuses`, computed in SQL, now or as of any
past moment from the append-only audit log), the department report (`department`), its HTML,
PDF, CSV and JSON renderings (`render`), and the auditor's evidence bundle (`bundle`: the
report, the evidence it cites, a manifest of SHA-256 hashes, the audit-chain head and an
Ed25519 signature by the installation's key, `signing`), which `verify_bundle` checks offline.
"""

from orchestrator.reports.bundle import (
    BundleSummary,
    BundleVerification,
    verify_bundle,
    write_evidence_bundle,
)
from orchestrator.reports.department import (
    DepartmentReport,
    FailureReason,
    PlatformRow,
    ReportParameters,
    ReportRow,
    build_department_report,
)
from orchestrator.reports.render import (
    ReportFormat,
    render_report,
    report_file_name,
    report_media_type,
)
from orchestrator.reports.statuses import EmployeeStatus, Status, employee_policy_statuses

__all__ = [
    "BundleSummary",
    "BundleVerification",
    "DepartmentReport",
    "EmployeeStatus",
    "FailureReason",
    "PlatformRow",
    "ReportFormat",
    "ReportParameters",
    "ReportRow",
    "Status",
    "build_department_report",
    "employee_policy_statuses",
    "render_report",
    "report_file_name",
    "report_media_type",
    "verify_bundle",
    "write_evidence_bundle",
]
