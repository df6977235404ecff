"""The replica's server-side truth: accounts, sessions, behaviours and everything members did.

Held in memory behind one lock, because the server runs in its own thread while tests and
benchmarks read the same object. Pages never touch an account directly: they get a frozen
`Member` and ask the state to act for it.
"""

from __future__ import annotations

import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from orchestrator.replica.models import (
    DEFAULT_TOGGLES,
    SUPPORTED_BEHAVIOURS,
    TRAINING_SETTING,
    AccountSeed,
    AccountState,
    ArchiveRequest,
    Behaviour,
    LoggedRequest,
    ObjectionSubmission,
    PageVisit,
    Platform,
    SeededAccount,
    StorageCookie,
    StorageState,
)
from orchestrator.replica.sites import DENY_LISTED_PATHS, SITES

REQUEST_LOG_LIMIT = 1000
# Faults that fire until spent: the *_once ones on first use, the checkpoint until a person
# passes it.
_SPENDABLE_FAULTS = frozenset(
    {
        Behaviour.CHECKPOINT,
        Behaviour.SAVE_FAILS_ONCE,
        Behaviour.RATE_LIMITED_ONCE,
        Behaviour.FORM_FAILS_ONCE,
    }
)

ConsentChoice = Literal["accepted", "rejected"]
AccountKey = tuple[Platform, str]


class UnknownAccountError(LookupError):
    """No account was seeded under that platform and id."""


class UnsupportedBehaviourError(ValueError):
    """The seed asks for a behaviour the replica does not model on that platform."""


class UnknownSettingError(LookupError):
    """The page tried to save a toggle the platform does not have."""


@dataclass(frozen=True)
class Member:
    """A signed-in account as the pages see it."""

    platform: Platform
    account_id: str
    email: str
    behaviours: frozenset[Behaviour]

    @property
    def key(self) -> AccountKey:
        return (self.platform, self.account_id)

    def has(self, behaviour: Behaviour) -> bool:
        return behaviour in self.behaviours


@dataclass
class _Account:
    platform: Platform
    account_id: str
    email: str
    password: str
    behaviours: frozenset[Behaviour]
    toggles: dict[str, bool]
    pending_faults: set[Behaviour]
    toggle_changes: dict[str, int] = field(default_factory=dict)
    failed_saves: int = 0
    cookie_consent: ConsentChoice | None = None
    objection_posts: int = 0
    objection_submissions: list[ObjectionSubmission] = field(default_factory=list)
    archive_requests: list[ArchiveRequest] = field(default_factory=list)
    deny_listed_visits: list[PageVisit] = field(default_factory=list)
    requests: deque[LoggedRequest] = field(default_factory=lambda: deque(maxlen=REQUEST_LOG_LIMIT))

    def as_member(self) -> Member:
        return Member(self.platform, self.account_id, self.email, self.behaviours)


@dataclass(frozen=True)
class _Session:
    key: AccountKey
    valid: bool


def _now() -> datetime:
    return datetime.now(UTC)


class ReplicaState:
    """All accounts of all replicated sites, safe to share between threads."""

    def __init__(self, *, save_latency: float = 0.3, slow_save_latency: float = 1.5) -> None:
        """`save_latency` is how long a toggle save takes; `slow_save` accounts wait longer."""
        self.save_latency = save_latency
        self.slow_save_latency = slow_save_latency
        self._lock = threading.Lock()
        self._accounts: dict[AccountKey, _Account] = {}
        self._sessions: dict[str, _Session] = {}
        self._case_numbers: set[str] = set()

    def seed(self, seed: AccountSeed) -> SeededAccount:
        """Create or replace an account and issue its session (already expired if signed_out)."""
        behaviours = frozenset(seed.behaviours)
        unsupported = behaviours - SUPPORTED_BEHAVIOURS[seed.platform]
        if unsupported:
            names = ", ".join(sorted(unsupported))
            raise UnsupportedBehaviourError(f"not modelled on {seed.platform}: {names}")
        opted_out = Behaviour.ALREADY_OPTED_OUT in behaviours
        if opted_out and seed.training_enabled:
            raise UnsupportedBehaviourError("already_opted_out contradicts training_enabled=true")
        toggles = dict(DEFAULT_TOGGLES[seed.platform])
        training_enabled = seed.training_enabled if seed.training_enabled is not None else True
        toggles[TRAINING_SETTING[seed.platform]] = training_enabled and not opted_out
        account = _Account(
            platform=seed.platform,
            account_id=seed.account_id,
            email=seed.email,
            password=seed.password,
            behaviours=behaviours,
            toggles=toggles,
            pending_faults=set(behaviours & _SPENDABLE_FAULTS),
        )
        key = (seed.platform, seed.account_id)
        with self._lock:
            self._sessions = {t: s for t, s in self._sessions.items() if s.key != key}
            self._accounts[key] = account
            token = self._issue_session(key, valid=Behaviour.SIGNED_OUT not in behaviours)
        site = SITES[seed.platform]
        return SeededAccount(
            platform=seed.platform,
            account_id=seed.account_id,
            cookie_name=site.cookie_name,
            cookie_path=site.prefix,
            session=token,
        )

    def reset(self) -> None:
        """Forget every account and session."""
        with self._lock:
            self._accounts.clear()
            self._sessions.clear()
            self._case_numbers.clear()

    def snapshot(self, platform: Platform, account_id: str) -> AccountState:
        """A copy of everything held about one account."""
        with self._lock:
            account = self._account((platform, account_id))
            return AccountState(
                platform=account.platform,
                account_id=account.account_id,
                email=account.email,
                behaviours=sorted(account.behaviours),
                toggles=dict(account.toggles),
                toggle_changes={
                    name: account.toggle_changes.get(name, 0) for name in account.toggles
                },
                failed_saves=account.failed_saves,
                checkpoint_pending=Behaviour.CHECKPOINT in account.pending_faults,
                cookie_consent=account.cookie_consent,
                objection_posts=account.objection_posts,
                objection_submissions=list(account.objection_submissions),
                archive_requests=list(account.archive_requests),
                deny_listed_visits=list(account.deny_listed_visits),
                requests=list(account.requests),
            )

    def storage_state(self, platform: Platform, account_id: str, *, domain: str) -> StorageState:
        """A Playwright storage state carrying the account's latest session cookie."""
        site = SITES[platform]
        with self._lock:
            self._account((platform, account_id))
            token = next(
                t for t, s in reversed(self._sessions.items()) if s.key == (platform, account_id)
            )
        cookie = StorageCookie(name=site.cookie_name, value=token, domain=domain, path=site.prefix)
        return StorageState(cookies=[cookie])

    def member_for_session(self, platform: Platform, token: str | None) -> Member | None:
        """The member a still-valid session cookie belongs to."""
        with self._lock:
            session = self._sessions.get(token or "")
            if session is None or not session.valid or session.key[0] is not platform:
                return None
            return self._accounts[session.key].as_member()

    def sign_in(self, platform: Platform, email: str, password: str) -> str | None:
        """A fresh session for matching credentials, or None."""
        with self._lock:
            for key, account in self._accounts.items():
                same_email = account.email.casefold() == email.strip().casefold()
                if (
                    key[0] is platform
                    and same_email
                    and secrets.compare_digest(account.password.encode(), password.encode())
                ):
                    return self._issue_session(key, valid=True)
        return None

    def record_request(
        self, platform: Platform, token: str, *, method: str, path: str, status: int
    ) -> None:
        """Log a request under the account its cookie names, expired or not."""
        with self._lock:
            session = self._sessions.get(token)
            if session is None or session.key[0] is not platform:
                return
            account = self._accounts[session.key]
            at = _now()
            account.requests.append(LoggedRequest(method=method, path=path, status=status, at=at))
            if path.rstrip("/") in DENY_LISTED_PATHS:
                account.deny_listed_visits.append(PageVisit(path=path, at=at))

    def spend_fault(self, member: Member, fault: Behaviour) -> bool:
        """True the first time a one-shot fault is asked for, False ever after."""
        with self._lock:
            pending = self._account(member.key).pending_faults
            if fault in pending:
                pending.discard(fault)
                return True
            return False

    def checkpoint_pending(self, member: Member) -> bool:
        with self._lock:
            return Behaviour.CHECKPOINT in self._account(member.key).pending_faults

    def toggles(self, member: Member) -> dict[str, bool]:
        with self._lock:
            return dict(self._account(member.key).toggles)

    def save_delay(self, member: Member) -> float:
        """Seconds a save takes for this member."""
        return self.slow_save_latency if member.has(Behaviour.SLOW_SAVE) else self.save_latency

    def save_toggle(self, member: Member, setting: str, enabled: bool) -> bool:
        """Persist a toggle; False when the save_fails_once fault fires instead."""
        with self._lock:
            account = self._account(member.key)
            if setting not in account.toggles:
                raise UnknownSettingError(setting)
            if Behaviour.SAVE_FAILS_ONCE in account.pending_faults:
                account.pending_faults.discard(Behaviour.SAVE_FAILS_ONCE)
                account.failed_saves += 1
                return False
            if account.toggles[setting] != enabled:
                account.toggles[setting] = enabled
                account.toggle_changes[setting] = account.toggle_changes.get(setting, 0) + 1
            return True

    def drift(self, platform: Platform, account_id: str, setting: str, *, enabled: bool) -> None:
        """The platform itself switches a setting (as LinkedIn did when it opted members in):
        not a member's change, so `toggle_changes` does not count it."""
        with self._lock:
            account = self._account((platform, account_id))
            if setting not in account.toggles:
                raise UnknownSettingError(setting)
            account.toggles[setting] = enabled

    def cookie_consent(self, member: Member) -> ConsentChoice | None:
        with self._lock:
            return self._account(member.key).cookie_consent

    def set_cookie_consent(self, member: Member, choice: ConsentChoice) -> None:
        with self._lock:
            self._account(member.key).cookie_consent = choice

    def count_objection_post(self, member: Member) -> None:
        """Count a POST of the objection form, valid or not."""
        with self._lock:
            self._account(member.key).objection_posts += 1

    def submit_objection(
        self, member: Member, *, request_type: str, purpose: str, explanation: str, email: str
    ) -> ObjectionSubmission | None:
        """Open a case for a valid objection; None when the form_fails_once fault fires."""
        with self._lock:
            account = self._account(member.key)
            if Behaviour.FORM_FAILS_ONCE in account.pending_faults:
                account.pending_faults.discard(Behaviour.FORM_FAILS_ONCE)
                return None
            submission = ObjectionSubmission(
                case_number=self._new_case_number(),
                request_type=request_type,
                purpose=purpose,
                explanation=explanation,
                email=email,
                submitted_at=_now(),
            )
            account.objection_submissions.append(submission)
            return submission

    def objection_submission(self, member: Member, case_number: str) -> ObjectionSubmission | None:
        with self._lock:
            submissions = self._account(member.key).objection_submissions
            return next((s for s in submissions if s.case_number == case_number), None)

    def request_archive(
        self, member: Member, *, scope: Literal["full", "selected"], files: list[str]
    ) -> None:
        with self._lock:
            request = ArchiveRequest(scope=scope, files=files, requested_at=_now())
            self._account(member.key).archive_requests.append(request)

    def archive_requested(self, member: Member) -> bool:
        with self._lock:
            return bool(self._account(member.key).archive_requests)

    def clear_checkpoint(self, member: Member) -> None:
        with self._lock:
            self._account(member.key).pending_faults.discard(Behaviour.CHECKPOINT)

    def _account(self, key: AccountKey) -> _Account:
        try:
            return self._accounts[key]
        except KeyError:
            raise UnknownAccountError(f"no {key[0]} account {key[1]!r}") from None

    def _issue_session(self, key: AccountKey, *, valid: bool) -> str:
        token = secrets.token_urlsafe(24)
        self._sessions[token] = _Session(key=key, valid=valid)
        return token

    def _new_case_number(self) -> str:
        # [G] LinkedIn's real case-number format is unknown; CASE- plus eight digits stands in.
        while True:
            case_number = f"CASE-{secrets.randbelow(10**8):08d}"
            if case_number not in self._case_numbers:
                self._case_numbers.add(case_number)
                return case_number
