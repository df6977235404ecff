"""The replica: a local copy of the platform pages that tests, the demo and benchmarks drive.

It owns one FastAPI app serving LinkedIn under `/linkedin`, X under `/x` and ChatGPT under
`/chatgpt` at the real sites' paths, with per-render hashed class names so that only roles and
accessible names are stable; the per-account state those pages change (`ReplicaState`), with
switchable behaviours (`Behaviour`) such as an expired session or a save that fails once; and a
test-only control API under `/__replica__/` with its Python client (`ReplicaClient`). It imports
nothing else of ours, so the engine can be tested against it without the rest of the product.
"""

from orchestrator.replica.app import create_replica_app, serve
from orchestrator.replica.client import ReplicaClient, ReplicaRequestError
from orchestrator.replica.models import (
    DEFAULT_PASSWORD,
    REAL_ORIGINS,
    SUPPORTED_BEHAVIOURS,
    TRAINING_SETTING,
    AccountState,
    Behaviour,
    Platform,
    SeededAccount,
)
from orchestrator.replica.state import ReplicaState

__all__ = [
    "DEFAULT_PASSWORD",
    "REAL_ORIGINS",
    "SUPPORTED_BEHAVIOURS",
    "TRAINING_SETTING",
    "AccountState",
    "Behaviour",
    "Platform",
    "ReplicaClient",
    "ReplicaRequestError",
    "ReplicaState",
    "SeededAccount",
    "create_replica_app",
    "serve",
]
