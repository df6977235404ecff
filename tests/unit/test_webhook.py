"""Webhook posting: signed bodies, and a receiver that is not there is a reason, not a crash."""

from __future__ import annotations

import socket

from orchestrator.notifications.webhook import post_event, sign


def test_signature_is_hmac_sha256_of_the_body_under_the_secret() -> None:
    assert (
        sign(b'{"event":"x"}', secret="k")
        == "sha256=53732ddaf5b384381f752530b46c850e7df10433c52c97530bcfbe6fa03ce4f0"
    )
    assert sign(b'{"event":"y"}', secret="k") != sign(b'{"event":"x"}', secret="k")


def test_an_unreachable_receiver_is_reported() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    problem = post_event(f"http://127.0.0.1:{port}/hook", {"event": "x"}, secret="k")
    assert problem is not None
    assert "ConnectError" in problem
