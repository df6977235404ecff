"""Routes every replicated site has in the same shape: sign-in and the toggle-save endpoint.

The pages around them differ per site (labels, markup), the rules do not: a sign-in sets the
site's session cookie and returns the member where they were going; a save waits the account's
latency, may fail once on purpose, and otherwise persists.
"""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from orchestrator.replica.forms import field, read_form
from orchestrator.replica.gate import member_api
from orchestrator.replica.models import TRAINING_SETTING, Behaviour
from orchestrator.replica.rendering import Pages
from orchestrator.replica.sites import Site
from orchestrator.replica.state import Member, ReplicaState, UnknownSettingError


class ToggleSave(BaseModel):
    """The body a settings page posts when a switch or checkbox is flipped."""

    model_config = ConfigDict(extra="forbid")

    setting: str
    enabled: bool


def add_sign_in_routes(
    router: APIRouter, *, state: ReplicaState, pages: Pages, site: Site, template: str
) -> None:
    """Serve `site.login_path`: the sign-in form and its POST."""

    def sign_in_page(request: Request, return_to: str, *, failed: bool, email: str) -> HTMLResponse:
        context = {"site": site, "return_to": return_to, "failed": failed, "email": email}
        return pages.render(request, template, context)

    @router.get(site.login_path, response_class=HTMLResponse)
    def show_sign_in(request: Request) -> HTMLResponse:
        """The sign-in form; it returns the member to the redirect parameter afterwards."""
        return_to = site.safe_return_to(request.query_params.get(site.redirect_param))
        return sign_in_page(request, return_to, failed=False, email="")

    @router.post(site.login_path)
    async def sign_in(request: Request) -> Response:
        """Check the credentials and set the site's session cookie."""
        form = await read_form(request)
        return_to = site.safe_return_to(field(form, "return_to"))
        email = field(form, "username")
        token = state.sign_in(site.platform, email, form.get("password", [""])[0])
        if token is None:
            return sign_in_page(request, return_to, failed=True, email=email)
        response = RedirectResponse(return_to, status_code=303)
        response.set_cookie(
            site.cookie_name, token, path=site.prefix, httponly=True, samesite="lax"
        )
        return response


def add_toggle_endpoint(router: APIRouter, *, state: ReplicaState, site: Site, path: str) -> None:
    """Serve the JSON endpoint the site's settings pages save toggles through."""
    signed_in = member_api(state, site)
    training_setting = TRAINING_SETTING[site.platform]

    @router.post(path)
    async def save_toggle(
        body: ToggleSave, member: Annotated[Member, Depends(signed_in)]
    ) -> JSONResponse:
        """Persist one toggle after the account's save latency."""
        await asyncio.sleep(state.save_delay(member))
        if member.has(Behaviour.SETTING_ABSENT) and body.setting == training_setting:
            return JSONResponse({"error": "setting not available"}, status_code=404)
        try:
            saved = state.save_toggle(member, body.setting, body.enabled)
        except UnknownSettingError:
            return JSONResponse({"error": "unknown setting"}, status_code=404)
        if not saved:
            return JSONResponse({"error": "internal error"}, status_code=500)
        return JSONResponse({"setting": body.setting, "enabled": body.enabled})
