"""`optout admin`: admin accounts and API tokens (secrets are shown once, stored only hashed)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from orchestrator.admins.service import (
    AdminError,
    check_password_strength,
    create_admin,
    create_api_token,
    disable_admin,
    list_admins,
    list_api_tokens,
    parse_role,
    revoke_api_token,
)
from orchestrator.campaigns.timing import parse_duration
from orchestrator.cli.context import actor, console, unit_of_work
from orchestrator.core.clock import utcnow

app = typer.Typer(help="Admin accounts and API tokens.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for automation.", no_args_is_help=True)
app.add_typer(token_app, name="token")

RoleOption = Annotated[str, typer.Option("--role", help="admin, operator or auditor.")]


def _when(value: object) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else "-"  # type: ignore[attr-defined]


def _password(password_file: Path | None) -> tuple[str, bool]:
    """The new password (from a file, a prompt, or generated) and whether it was generated."""
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise AdminError(f"cannot read {password_file}: {exc.strerror}") from exc
        return text, False
    if not console.is_terminal:
        return secrets.token_urlsafe(18), True
    first = typer.prompt("Password (empty: generate one)", default="", hide_input=True)
    if not first:
        return secrets.token_urlsafe(18), True
    check_password_strength(first)
    if typer.prompt("Repeat the password", hide_input=True) != first:
        raise AdminError("the two passwords differ; nothing was created")
    return first, False


@app.command("create")
def create_command(
    username: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: RoleOption,
    password_file: Annotated[
        Path | None, typer.Option(help="Read the password from this file (first line).")
    ] = None,
) -> None:
    """Create an admin account (the password is asked for, read from a file, or generated)."""
    chosen = parse_role(role)
    password, generated = _password(password_file)
    with unit_of_work() as session:
        view = create_admin(
            session, username=username, password=password, role=chosen, actor=actor(), now=utcnow()
        )
    console.print(f"Created {view.username} ({view.role.value}).")
    if generated:
        console.print(f"Password (shown once, write it down): {password}", highlight=False)


@app.command("list")
def list_command() -> None:
    """Every admin account with its role and last sign-in."""
    with unit_of_work() as session:
        admins = list_admins(session)
    if not admins:
        console.print("No admin accounts yet: `optout admin create NAME --role admin`.")
        return
    table = Table("Username", "Role", "Active", "Created", "Last sign-in")
    for view in admins:
        table.add_row(
            view.username,
            view.role.value,
            "yes" if view.active else "no",
            _when(view.created_at),
            _when(view.last_sign_in_at),
        )
    console.print(table)


@app.command("disable")
def disable_command(username: Annotated[str, typer.Argument(help="The account.")]) -> None:
    """Stop an account from signing in; its open sign-ins end at once."""
    with unit_of_work() as session:
        view = disable_admin(session, username=username, actor=actor(), now=utcnow())
    console.print(f"Disabled {view.username}.")


@token_app.command("create")
def token_create_command(
    name: Annotated[str, typer.Argument(help="What uses the token, e.g. ci-reports.")],
    role: RoleOption,
    expires: Annotated[
        str | None, typer.Option(help="Lifetime such as 90d or 2w (default: no expiry).")
    ] = None,
) -> None:
    """Create an API token; it is printed once and only its hash is kept."""
    chosen = parse_role(role)
    now = utcnow()
    expires_at = now + parse_duration(expires) if expires else None
    with unit_of_work() as session:
        token, view = create_api_token(
            session, name=name, role=chosen, expires_at=expires_at, actor=actor(), now=now
        )
    console.print(
        f"Token {view.name} ({view.role.value}, expires {_when(view.expires_at)}); "
        "shown once, send it as `Authorization: Bearer <token>`:"
    )
    console.print(token, highlight=False, soft_wrap=True)


@token_app.command("list")
def token_list_command() -> None:
    """Every API token (never the token itself)."""
    with unit_of_work() as session:
        tokens = list_api_tokens(session)
    table = Table("Name", "Role", "Created by", "Expires", "Revoked", "Last used")
    for view in tokens:
        table.add_row(
            view.name,
            view.role.value,
            view.created_by,
            _when(view.expires_at),
            _when(view.revoked_at),
            _when(view.last_used_at),
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke_command(name: Annotated[str, typer.Argument(help="The token's name.")]) -> None:
    """Stop a token from working, at once."""
    with unit_of_work() as session:
        revoke_api_token(session, name=name, actor=actor(), now=utcnow())
    console.print(f"Revoked {name}.")
