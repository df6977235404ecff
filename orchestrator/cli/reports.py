"""`optout report`, `optout bundle` and `optout evidence`: what auditors and leadership read.

Files are written beside their destination and renamed into place, so a failed command leaves
no half-written report.
"""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer

from orchestrator.campaigns.timing import parse_as_of
from orchestrator.cli.context import (
    EXIT_INTERNAL_ERROR,
    actor,
    console,
    errors,
    settings,
    unit_of_work,
)
from orchestrator.cli.policies import loaded_policies
from orchestrator.core.clock import utcnow
from orchestrator.core.durations import parse_duration
from orchestrator.core.errors import OrchestratorError
from orchestrator.evidence.service import purge_expired_evidence
from orchestrator.reports import (
    ReportFormat,
    ReportParameters,
    build_department_report,
    render_report,
    verify_bundle,
    write_evidence_bundle,
)
from orchestrator.reports.signing import public_pem, read_key_file, signing_key

bundle_app = typer.Typer(
    help="Auditors' evidence bundles: create, verify offline, pin the key.", no_args_is_help=True
)
evidence_app = typer.Typer(help="The evidence store: retention.", no_args_is_help=True)

Department = Annotated[
    str | None, typer.Option(help="Only this department and its sub-departments.")
]
AsOf = Annotated[
    str | None,
    typer.Option(help="The state at this moment (ISO 8601, UTC; a bare date means its end)."),
]


def _parameters(department: str | None, as_of: str | None) -> ReportParameters:
    now = utcnow()
    return ReportParameters(
        department=department,
        as_of=parse_as_of(as_of, now=now, name="--as-of"),
        generated_at=now,
        generated_by=actor(),
    )


def _temporary_beside(out: Path) -> Path:
    directory = out.parent
    if not directory.is_dir():
        raise OrchestratorError(f"cannot write {out}: the directory {directory} does not exist")
    descriptor, name = tempfile.mkstemp(dir=directory, prefix=f".{out.name}-")
    os.close(descriptor)
    return Path(name)


def report_command(
    out: Annotated[Path, typer.Option(help="The file to write.")],
    fmt: Annotated[ReportFormat, typer.Option("--format", help="html, pdf, csv or json.")],
    department: Department = None,
    as_of: AsOf = None,
) -> None:
    """Compliance by department and policy, now or as of a past moment."""
    params = _parameters(department, as_of)
    policies = loaded_policies()
    temporary = _temporary_beside(out)
    try:
        with unit_of_work() as session:
            report = build_department_report(session, params=params, policies=policies)
        with temporary.open("wb") as handle:
            for chunk in render_report(report, fmt):
                handle.write(chunk)
        temporary.replace(out)
    finally:
        temporary.unlink(missing_ok=True)
    pairs = sum(row.total for row in report.totals)
    console.print(
        f"Wrote {out} ({fmt.value}): {len(report.departments)} departments, "
        f"{pairs} employee × policy pairs, {params.scope}"
        + (f", as of {params.as_of:%Y-%m-%d %H:%M} UTC." if params.as_of else ".")
    )


@bundle_app.command("create")
def bundle_create_command(
    out: Annotated[Path, typer.Option(help="The zip file to write.")],
    department: Department = None,
    as_of: AsOf = None,
) -> None:
    """A signed zip of the report and every piece of evidence it cites."""
    params = _parameters(department, as_of)
    policies = loaded_policies()
    with unit_of_work() as session:
        summary = write_evidence_bundle(
            session, params=params, policies=policies, settings=settings(), out=out
        )
    console.print(
        f"Wrote {out}: {summary.files} files, {summary.evidence_files} evidence files"
        + (
            f", {summary.purged_records} cited records already purged"
            if summary.purged_records
            else ""
        )
        + (f"; audit chain head #{summary.chain_head.seq}" if summary.chain_head else "")
        + ". Check it with `optout bundle verify`."
    )


@bundle_app.command("verify")
def bundle_verify_command(
    path: Annotated[Path, typer.Argument(help="The bundle (.zip).")],
    public_key: Annotated[
        Path | None,
        typer.Option(help="The installation's public key (PEM) the signature must be from."),
    ] = None,
) -> None:
    """Check a bundle offline; names every altered, missing or added file (exit 1)."""
    pinned = read_key_file(public_key) if public_key is not None else None
    result = verify_bundle(path, public_key=pinned)
    if not result.ok:
        for problem in result.problems:
            errors.print(f"[bold red]altered:[/] {problem}", highlight=False)
        raise typer.Exit(EXIT_INTERNAL_ERROR)
    head = (result.manifest or {}).get("audit_chain_head") or {}
    signer = (
        "the pinned key" if pinned is not None else "the key it carries (pin one with --public-key)"
    )
    console.print(
        f"{path} is intact: {result.files_checked} files match the manifest, signed by {signer}"
        + (f"; audit chain head #{head['seq']} {head['hash']}" if head else "")
        + "."
    )


@bundle_app.command("public-key")
def bundle_public_key_command() -> None:
    """Print the installation's public key (PEM), for auditors to pin."""
    typer.echo(public_pem(signing_key(settings())).decode(), nl=False)


@evidence_app.command("purge")
def evidence_purge_command(
    older_than: Annotated[
        str | None,
        typer.Option(
            help="Purge evidence captured longer ago than this (400d…); "
            "default: OPTOUT_EVIDENCE_RETENTION_DAYS."
        ),
    ] = None,
    dry_run: Annotated[bool, typer.Option(help="Count what would go; change nothing.")] = False,
) -> None:
    """Delete evidence files past the retention period; their records stay, marked purged."""
    current = settings()
    period = (
        parse_duration(older_than)
        if older_than is not None
        else timedelta(days=current.evidence_retention_days)
    )
    with unit_of_work() as session:
        summary = purge_expired_evidence(
            session,
            older_than=period,
            now=utcnow(),
            actor=actor(),
            evidence_dir=current.resolved_evidence_dir,
            dry_run=dry_run,
        )
    verb = "Would purge" if dry_run else "Purged"
    console.print(
        f"{verb} {summary.records} evidence records captured before "
        f"{summary.cutoff:%Y-%m-%d %H:%M} UTC ({summary.files} files, {summary.bytes} bytes)"
        + ("; nothing was changed." if dry_run else "; recorded in the audit log.")
    )
