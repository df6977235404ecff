"""`optout worker`: run opt-out jobs across the fleet (and the scheduler) until stopped."""

from __future__ import annotations

import os
import signal
import socket
import threading
from datetime import timedelta
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from orchestrator.cli.context import console, engine, settings
from orchestrator.cli.policies import loaded_policies
from orchestrator.core.errors import OrchestratorError
from orchestrator.flows.execute import CycleReport, WorkerConfig
from orchestrator.jobs.queue import what_they_wait_for
from orchestrator.runner.ansible import check_playbook
from orchestrator.worker.loop import work


def worker_command(
    until_empty: Annotated[
        bool,
        typer.Option(
            "--until-empty",
            help="Stop once nothing falls due within minutes (for scripts); "
            "jobs a paused policy or campaign holds are left and listed.",
        ),
    ] = False,
    batch_size: Annotated[int, typer.Option(min=1, max=1000, help="Jobs per run.")] = 20,
    forks: Annotated[int, typer.Option(min=1, max=200, help="Hosts Ansible drives at once.")] = 5,
    contexts: Annotated[
        int,
        typer.Option(
            min=1, max=16, help="Tasks each host runs at once, each in its own browser context."
        ),
    ] = 2,
    lease_seconds: Annotated[
        int, typer.Option(min=10, max=24 * 3600, help="How long a claim holds without renewal.")
    ] = 900,
    task_allowance_seconds: Annotated[
        int,
        typer.Option(
            min=1,
            max=24 * 3600,
            help="Longest one task may take; hosts start none later than lease minus this.",
        ),
    ] = 180,
    poll_seconds: Annotated[float, typer.Option(min=0.1, max=3600)] = 5.0,
    name: Annotated[str | None, typer.Option(help="Worker name (default: host-pid).")] = None,
) -> None:
    """Claim jobs, run them through ansible-runner on the employees' fleet hosts, record proof."""
    config = WorkerConfig(
        name=name or f"{socket.gethostname()}-{os.getpid()}",
        batch_size=batch_size,
        forks=forks,
        contexts=contexts,
        lease=timedelta(seconds=lease_seconds),
        task_allowance=timedelta(seconds=task_allowance_seconds),
    )
    if task_allowance_seconds >= lease_seconds:
        raise OrchestratorError("--task-allowance-seconds must be shorter than --lease-seconds")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    check_playbook(settings().playbooks_dir)
    policies = loaded_policies()
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[states]}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        bar = progress.add_task(f"worker {config.name}", total=None, states="waiting for jobs")
        done = 0

        def show(report: CycleReport, due: int, later: int) -> None:
            nonlocal done
            done += report.claimed
            states = ", ".join(f"{state} {count}" for state, count in report.states.items())
            progress.update(
                bar,
                completed=done,
                total=done + due + later,
                states=f"last run: {states or 'nothing due'}; waiting: {due + later}",
            )

        try:
            totals = work(
                engine(),
                settings=settings(),
                policies=policies,
                config=config,
                until_empty=until_empty,
                poll_seconds=poll_seconds,
                stop=stop,
                on_cycle=show,
            )
        except KeyboardInterrupt:
            console.print("Stopped; jobs in flight are picked up again when their lease expires.")
            return
    summary = ", ".join(f"{state} {count}" for state, count in sorted(totals.states.items()))
    console.print(f"{totals.claimed} jobs in {totals.cycles} runs: {summary or 'nothing to do'}.")
    for waiting in totals.left_waiting:
        console.print(what_they_wait_for(waiting))
