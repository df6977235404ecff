"""How each replicated site names its session cookie, its sign-in page and its redirects.

Every URL the replica emits is built here from the site's path prefix, so no page can link to
the real origin by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from orchestrator.replica.models import Platform


@dataclass(frozen=True)
class Site:
    """One replicated site under its path prefix."""

    platform: Platform
    cookie_name: str
    login_path: str
    redirect_param: str
    home_path: str
    challenge_path: str | None = None

    @property
    def prefix(self) -> str:
        return f"/{self.platform.value}"

    def url(self, path: str) -> str:
        """The replica path for a path of the real site (`/login` → `/linkedin/login`)."""
        return f"{self.prefix}{path}"

    def login_url(self, return_to: str) -> str:
        """The sign-in page that sends the member back to `return_to` afterwards."""
        return f"{self.url(self.login_path)}?{urlencode({self.redirect_param: return_to})}"

    def safe_return_to(self, candidate: str | None) -> str:
        """`candidate` if it stays inside this site, else the home page: no open redirects."""
        if candidate is not None and candidate.startswith(f"{self.prefix}/"):
            return candidate
        return self.url(self.home_path)


SITES: dict[Platform, Site] = {
    Platform.LINKEDIN: Site(
        platform=Platform.LINKEDIN,
        cookie_name="li_at",
        login_path="/login",
        redirect_param="session_redirect",
        home_path="/feed/",
        challenge_path="/checkpoint/challenge/",
    ),
    Platform.X: Site(
        platform=Platform.X,
        cookie_name="auth_token",
        login_path="/i/flow/login",
        redirect_param="redirect_after_login",
        home_path="/settings/grok_settings",
    ),
    Platform.CHATGPT: Site(
        platform=Platform.CHATGPT,
        # The real cookie is `__Secure-next-auth.session-token`; browsers refuse `__Secure-`
        # cookies over plain http, so the replica uses a plain name.
        cookie_name="chatgpt_session",
        login_path="/auth/login",
        # [G] the parameter ChatGPT's sign-in uses to return is not documented.
        redirect_param="next",
        home_path="/settings/data-controls",
    ),
}

# Account-lifecycle pages the engine must never open (TARGETS 2.1); every visit is recorded.
DENY_LISTED_PATHS = frozenset(
    {
        SITES[Platform.LINKEDIN].url("/mypreferences/d/close-accounts"),
        SITES[Platform.LINKEDIN].url("/mypreferences/d/hibernate-account"),
    }
)


def site_for_path(path: str) -> Site | None:
    """The site whose prefix `path` falls under, if any."""
    first_segment = path.lstrip("/").split("/", 1)[0]
    try:
        return SITES[Platform(first_segment)]
    except ValueError:
        return None
