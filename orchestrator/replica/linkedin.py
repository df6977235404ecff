"""LinkedIn's pages under `/linkedin`, at the real paths of `https://www.linkedin.com`.

Settings live one page per setting under `/mypreferences/d/`, category pages hold only links,
the Data Processing Objection Form lives in the Help Center (TARGETS 2.1-2.6). Labels quoted
from TARGETS; where it only guesses, the template says so.
"""

import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from orchestrator.replica.forms import field, read_form
from orchestrator.replica.gate import member_api, member_page, session_member
from orchestrator.replica.models import TRAINING_SETTING, Behaviour, Platform
from orchestrator.replica.rendering import Pages
from orchestrator.replica.shared_routes import add_sign_in_routes, add_toggle_endpoint
from orchestrator.replica.sites import SITES
from orchestrator.replica.state import Member, ReplicaState

SITE = SITES[Platform.LINKEDIN]
AI_SETTING = TRAINING_SETTING[Platform.LINKEDIN]
AI_LABEL = "Use my data for training content creation AI models"
# Some sources hyphenate the label (TARGETS 2.2); label_variant serves that spelling.
AI_LABEL_VARIANT = "Use my data for training content-creation AI models"
# [G] LinkedIn's web client talks to /voyager/api/...; the exact endpoints are not public.
TOGGLE_ENDPOINT = "/voyager/api/settings"
CONSENT_ENDPOINT = "/voyager/api/cookie-consent"
DPRO_FORM = "/help/linkedin/ask/TS-DPRO"

# [G] option texts of the objection form (TARGETS 2.5 working model).
REQUEST_TYPES = {
    "object": "Object to processing",
    "restrict": "Request restriction of processing",
}
PURPOSES = {
    "non_content_gai": "Training non-content generating GAI models",
    "other_ml": "Training other AI or machine learning models",
    "other": "Other",
}
# [G] file names of the data-copy page, from memory (TARGETS 2.6).
DATA_FILES = (
    "Articles",
    "Connections",
    "Imported Contacts",
    "Member follows",
    "Messages",
    "Invitations",
    "Profile",
    "Recommendations",
    "Registration",
    "Rich Media",
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Row:
    """A link row on a category page; `setting` shows that toggle's On/Off beside it."""

    label: str
    path: str
    setting: str | None = None


@dataclass(frozen=True)
class Section:
    heading: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class Category:
    title: str
    sections: tuple[Section, ...]


def _stub(label: str, slug: str) -> Row:
    return Row(label, f"/mypreferences/d/settings/{slug}")


# The six sections of the settings rail (help a1337839). Slugs account, privacy, ads and
# notifications are [V]; sign-in-and-security and visibility are [G]. Row lists are [S]
# for Data privacy (two UI clones) and [G] elsewhere.
CATEGORIES: dict[str, Category] = {
    "account": Category(
        "Account preferences",
        (
            Section(
                "Profile information",
                (
                    _stub("Name, location, and industry", "name-location-industry"),
                    _stub("Verifications", "verifications"),
                ),
            ),
            Section("Display", (Row("Dark mode", "/mypreferences/d/dark-mode"),)),
            Section(
                "General preferences",
                (_stub("Language", "language"), _stub("Autoplay videos", "autoplay-videos")),
            ),
            Section(
                "Account management",
                (
                    Row("Hibernate account", "/mypreferences/d/hibernate-account"),
                    Row("Close account", "/mypreferences/d/close-accounts"),
                ),
            ),
        ),
    ),
    "sign-in-and-security": Category(
        "Sign in & security",
        (
            Section(
                "Account access",
                (
                    _stub("Email addresses", "email-addresses"),
                    _stub("Change password", "change-password"),
                    Row("Two-step verification", "/mypreferences/d/two-factor-authentication"),
                ),
            ),
        ),
    ),
    "visibility": Category(
        "Visibility",
        (
            Section(
                "Visibility of your profile & network",
                (
                    _stub("Profile discovery using email address", "discover-me-by-email-address"),
                    _stub("Profile discovery using phone number", "discover-me-by-phone-number"),
                    _stub("Profile visibility for partners", "profile-visibility-for-partners"),
                ),
            ),
        ),
    ),
    "privacy": Category(
        "Data privacy",
        (
            Section(
                "How LinkedIn uses your data",
                (
                    _stub("Manage your data and activity", "manage-data-and-activity"),
                    Row("Get a copy of your data", "/mypreferences/d/download-my-data"),
                    _stub("Search history", "search-history"),
                    _stub("Personal demographic information", "demographic-info"),
                    _stub("Social, economic, and workplace research", "research"),
                    Row(
                        "Data for Generative AI Improvement",
                        "/mypreferences/d/settings/data-for-ai-improvement",
                        setting=AI_SETTING,
                    ),
                ),
            ),
            Section("Who can reach you", (_stub("Invitations to connect", "invitations"),)),
            Section("Messaging experience", (_stub("Read receipts", "read-receipts"),)),
            Section(
                "Job seeking preferences",
                (_stub("Job application settings", "job-application-settings"),),
            ),
            Section("Other applications", (_stub("Permitted services", "permitted-services"),)),
        ),
    ),
    "ads": Category(
        "Advertising data",
        (
            Section(
                "Profile data",
                (_stub("Profile data for ad personalization", "ad-profile-data"),),
            ),
            Section(
                "Third-party data",
                (_stub("Data sharing with affiliates and partners", "data-sharing"),),
            ),
        ),
    ),
    "notifications": Category(
        "Notifications",
        (
            Section(
                "Notifications you receive",
                (
                    _stub("Searching for a job", "notifications-jobs"),
                    _stub("Connecting with others", "notifications-network"),
                ),
            ),
        ),
    ),
}
_SERVED_ROWS = {
    "/mypreferences/d/settings/data-for-ai-improvement",
    "/mypreferences/d/download-my-data",
    "/mypreferences/d/close-accounts",
    "/mypreferences/d/hibernate-account",
}
# Rows whose page the replica does not model, with their category: a titled placeholder
# keeps their links from 404ing.
STUB_PAGES = {
    row.path: (row.label, slug)
    for slug, category in CATEGORIES.items()
    for section in category.sections
    for row in section.rows
    if row.path not in _SERVED_ROWS
}
# [G] whether the legacy /psettings/ addresses still redirect is unverified (TARGETS 2.1).
LEGACY_REDIRECTS = {
    "data-privacy": "/mypreferences/d/categories/privacy",
    "advertising-data": "/mypreferences/d/categories/ads",
    "member-data": "/mypreferences/d/download-my-data",
}


class CookieConsent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    choice: Literal["accepted", "rejected"]


def linkedin_router(state: ReplicaState, pages: Pages) -> APIRouter:
    """Every LinkedIn route of the replica, bound to `state`."""
    router = APIRouter(prefix=SITE.prefix)
    signed_in = member_page(state, SITE)
    signed_in_mid_checkpoint = session_member(state, SITE)
    signed_in_api = member_api(state, SITE)

    def render(
        request: Request,
        member: Member,
        template: str,
        context: dict[str, Any] | None = None,
        *,
        status_code: int = 200,
    ) -> HTMLResponse:
        banner = member.has(Behaviour.COOKIE_BANNER) and state.cookie_consent(member) is None
        page_context = {"site": SITE, "member": member, "cookie_banner": banner, **(context or {})}
        return pages.render(request, template, page_context, status_code=status_code)

    add_sign_in_routes(router, state=state, pages=pages, site=SITE, template="linkedin/login.html")
    add_toggle_endpoint(router, state=state, site=SITE, path=TOGGLE_ENDPOINT)

    @router.get("/uas/login")
    def legacy_sign_in(request: Request) -> RedirectResponse:
        """The old sign-in address forwards to `/login`, keeping its query."""
        query = f"?{request.url.query}" if request.url.query else ""
        return RedirectResponse(SITE.url(f"/login{query}"), status_code=302)

    @router.get("/checkpoint/challenge/{challenge_id}", response_class=HTMLResponse)
    def show_checkpoint(
        request: Request, member: Annotated[Member, Depends(signed_in_mid_checkpoint)]
    ) -> HTMLResponse:
        """The security check LinkedIn interposes when it suspects automation."""
        return_to = SITE.safe_return_to(request.query_params.get(SITE.redirect_param))
        context = {"return_to": return_to, "failed": False}
        return render(request, member, "linkedin/checkpoint.html", context)

    @router.post("/checkpoint/challenge/{challenge_id}")
    async def pass_checkpoint(
        request: Request, member: Annotated[Member, Depends(signed_in_mid_checkpoint)]
    ) -> Response:
        """A person ticking the box clears the checkpoint; nothing else does."""
        form = await read_form(request)
        return_to = SITE.safe_return_to(field(form, "return_to"))
        if field(form, "human") != "yes":
            context = {"return_to": return_to, "failed": True}
            return render(request, member, "linkedin/checkpoint.html", context)
        state.clear_checkpoint(member)
        return RedirectResponse(return_to, status_code=303)

    @router.get("/feed/", response_class=HTMLResponse)
    def show_feed(request: Request, member: Annotated[Member, Depends(signed_in)]) -> HTMLResponse:
        """Where a sign-in lands; its "Me" menu leads to Settings & Privacy."""
        return render(request, member, "linkedin/feed.html")

    @router.get("/mypreferences/d/")
    def settings_index() -> RedirectResponse:
        """The settings index forwards to the first category, as observed live."""
        return RedirectResponse(SITE.url("/mypreferences/d/categories/account"), status_code=302)

    @router.get("/psettings/{legacy}")
    def legacy_settings(legacy: str) -> Response:
        """Old `/psettings/...` addresses forward to their `/mypreferences/d/...` page."""
        target = LEGACY_REDIRECTS.get(legacy)
        if target is None:
            return HTMLResponse("Page not found", status_code=404)
        return RedirectResponse(SITE.url(target), status_code=302)

    @router.get("/mypreferences/d/categories/{slug}", response_class=HTMLResponse)
    def show_category(
        request: Request, slug: str, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """A category page: links only, each row leading to one setting's page."""
        category = CATEGORIES.get(slug)
        if category is None:
            return HTMLResponse("Page not found", status_code=404)
        toggles = state.toggles(member)
        if member.has(Behaviour.SETTING_ABSENT):
            category = _without_ai_row(category)
        context = {"category": category, "active_category": slug, "toggles": toggles}
        return render(request, member, "linkedin/category.html", context)

    @router.get("/mypreferences/d/settings/data-for-ai-improvement", response_class=HTMLResponse)
    def show_ai_setting(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """The "Data for Generative AI Improvement" page with its autosaving switch."""
        template = (
            "linkedin/ai_setting_variant.html"
            if member.has(Behaviour.LAYOUT_VARIANT)
            else "linkedin/ai_setting.html"
        )
        context = {
            "active_category": "privacy",
            "absent": member.has(Behaviour.SETTING_ABSENT),
            "label": AI_LABEL_VARIANT if member.has(Behaviour.LABEL_VARIANT) else AI_LABEL,
            "enabled": state.toggles(member)[AI_SETTING],
            "setting": AI_SETTING,
            "save_endpoint": SITE.url(TOGGLE_ENDPOINT),
        }
        return render(request, member, template, context)

    @router.post(CONSENT_ENDPOINT)
    def record_cookie_consent(
        body: CookieConsent, member: Annotated[Member, Depends(signed_in_api)]
    ) -> JSONResponse:
        """The banner's Accept / Reject; either one dismisses it for good."""
        state.set_cookie_consent(member, body.choice)
        return JSONResponse({"choice": body.choice})

    @router.get("/mypreferences/d/download-my-data", response_class=HTMLResponse)
    def show_download(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """The data-copy page: the archive choices and "Request archive"."""
        return render(request, member, "linkedin/download.html", _download_context(state, member))

    @router.post("/mypreferences/d/download-my-data")
    async def request_archive(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> Response:
        """Record an archive request; a selection needs at least one file."""
        form = await read_form(request)
        files = [name for name in form.get("files", []) if name in DATA_FILES]
        if field(form, "scope") == "selected":
            if not files:
                context = {**_download_context(state, member), "error": "Select at least one file."}
                return render(request, member, "linkedin/download.html", context, status_code=400)
            state.request_archive(member, scope="selected", files=files)
        else:
            state.request_archive(member, scope="full", files=[])
        return RedirectResponse(SITE.url("/mypreferences/d/download-my-data"), status_code=303)

    @router.get("/mypreferences/d/close-accounts", response_class=HTMLResponse)
    def show_close_account(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """Deny-listed: rendered so the visit is plausible, recorded by the request log."""
        context = {"active_category": "account"}
        return render(request, member, "linkedin/close_account.html", context)

    @router.get("/mypreferences/d/hibernate-account", response_class=HTMLResponse)
    def show_hibernate_account(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """Deny-listed: rendered so the visit is plausible, recorded by the request log."""
        context = {"active_category": "account"}
        return render(request, member, "linkedin/hibernate_account.html", context)

    @router.get("/mypreferences/d/{rest:path}", response_class=HTMLResponse)
    def show_stub_setting(
        request: Request, rest: str, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """A titled placeholder for the settings the replica does not model."""
        stub = STUB_PAGES.get(f"/mypreferences/d/{rest}")
        if stub is None:
            return HTMLResponse("Page not found", status_code=404)
        title, category = stub
        context = {"title": title, "active_category": category}
        return render(request, member, "linkedin/stub.html", context)

    @router.get(DPRO_FORM, response_class=HTMLResponse)
    def show_objection_form(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """The Data Processing Objection Form, email prefilled from the account."""
        values = {"request_type": "", "purpose": "", "explanation": "", "email": member.email}
        return render(request, member, "linkedin/objection_form.html", _form_context(values, {}))

    @router.post(DPRO_FORM)
    async def submit_objection(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> Response:
        """Validate, then open a case; every POST is counted, valid or not."""
        state.count_objection_post(member)
        form = await read_form(request)
        values = {
            name: field(form, name) for name in ("request_type", "purpose", "explanation", "email")
        }
        errors = _objection_errors(values)
        if errors:
            context = _form_context(values, errors)
            return render(request, member, "linkedin/objection_form.html", context, status_code=400)
        submission = state.submit_objection(member, **values)
        if submission is None:
            return render(request, member, "linkedin/objection_failed.html", status_code=503)
        confirmation = f"{DPRO_FORM}/confirmation/{submission.case_number}"
        return RedirectResponse(SITE.url(confirmation), status_code=303)

    @router.get(DPRO_FORM + "/confirmation/{case_number}", response_class=HTMLResponse)
    def show_objection_received(
        request: Request, case_number: str, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """The confirmation with the case number, visible only to the case's member."""
        submission = state.objection_submission(member, case_number)
        if submission is None:
            return HTMLResponse("Page not found", status_code=404)
        context = {"submission": submission}
        return render(request, member, "linkedin/objection_received.html", context)

    return router


def _without_ai_row(category: Category) -> Category:
    """The category as a member sees it where the AI setting is not offered."""
    sections = tuple(
        Section(s.heading, tuple(r for r in s.rows if r.setting != AI_SETTING))
        for s in category.sections
    )
    return Category(category.title, sections)


def _download_context(state: ReplicaState, member: Member) -> dict[str, Any]:
    return {
        "active_category": "privacy",
        "data_files": DATA_FILES,
        "requested": state.archive_requested(member),
        "error": None,
    }


def _form_context(values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "request_types": REQUEST_TYPES,
        "purposes": PURPOSES,
    }


def _objection_errors(values: dict[str, str]) -> dict[str, str]:
    """Messages per field the member must fix, in form order; empty when valid."""
    errors: dict[str, str] = {}
    if values["request_type"] not in REQUEST_TYPES:
        errors["request_type"] = "Select a type of request."
    if values["purpose"] not in PURPOSES:
        errors["purpose"] = "Select the processing you object to."
    if not values["explanation"]:
        errors["explanation"] = "Explain your request."
    if not _EMAIL.match(values["email"]):
        errors["email"] = "Enter a valid email address."
    return errors
