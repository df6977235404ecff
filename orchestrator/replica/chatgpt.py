"""ChatGPT's Data controls under `/chatgpt`, at the real paths of `https://chatgpt.com`.

`/settings/data-controls` holds "Improve the model for everyone" (TARGETS 3.14). The default
layout shows the switch in its row; layout_variant shows the row's value and opens a "Model
improvement" dialog with the switch and "Done", as TARGETS guesses the current UI does.
"""

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.requests import Request
from starlette.responses import HTMLResponse

from orchestrator.replica.gate import member_page
from orchestrator.replica.models import TRAINING_SETTING, Behaviour, Platform
from orchestrator.replica.rendering import Pages
from orchestrator.replica.shared_routes import add_sign_in_routes, add_toggle_endpoint
from orchestrator.replica.sites import SITES
from orchestrator.replica.state import Member, ReplicaState

SITE = SITES[Platform.CHATGPT]
# [G] ChatGPT saves settings through its private backend API; the endpoint is not public.
TOGGLE_ENDPOINT = "/backend-api/settings/data-controls"


def chatgpt_router(state: ReplicaState, pages: Pages) -> APIRouter:
    """Every ChatGPT route of the replica, bound to `state`."""
    router = APIRouter(prefix=SITE.prefix)
    signed_in = member_page(state, SITE)
    setting = TRAINING_SETTING[Platform.CHATGPT]

    add_sign_in_routes(router, state=state, pages=pages, site=SITE, template="chatgpt/login.html")
    add_toggle_endpoint(router, state=state, site=SITE, path=TOGGLE_ENDPOINT)

    @router.get("/settings/data-controls", response_class=HTMLResponse)
    def show_data_controls(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """Settings → Data controls, with the model-improvement switch, autosaved."""
        context = {
            "site": SITE,
            "absent": member.has(Behaviour.SETTING_ABSENT),
            "in_dialog": member.has(Behaviour.LAYOUT_VARIANT),
            "enabled": state.toggles(member)[setting],
            "setting": setting,
            "save_endpoint": SITE.url(TOGGLE_ENDPOINT),
        }
        return pages.render(request, "chatgpt/data_controls.html", context)

    return router
