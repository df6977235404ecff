"""X's Grok data-sharing settings under `/x`, at the real paths of `https://x.com`.

One page, `/settings/grok_settings`, with the three checkboxes TARGETS 3.1 describes; the
training one is what the opt-out is about.
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

SITE = SITES[Platform.X]
TRAINING_LABEL = (
    "Allow your public data as well as your interactions, inputs, and results with Grok and xAI"
    " to be used for training and fine-tuning"
)
# The 2024 wording (TARGETS 3.1, [V]); label_variant serves it.
TRAINING_LABEL_2024 = (
    "Allow your posts as well as your interactions, inputs, and results with Grok"
    " to be used for training and fine-tuning"
)
# Descriptions are [G] past their first words "X may share with xAI your X public data".
TRAINING_DESCRIPTION = (
    "X may share with xAI your X public data as well as your interactions, inputs, and results"
    " with Grok, to train and fine-tune its models."
)
# (setting, label, description) of the page's other checkboxes, in page order; labels [V].
_OTHER_CHECKBOXES = (
    (
        "grok_personalization",
        "Allow X to personalize your experience with Grok",
        "Grok may use your X profile and activity to personalize its answers.",
    ),
    (
        "grok_conversation_history",
        "Allow Grok to remember your conversation history",
        "Grok may use your past conversations to give better answers.",
    ),
)
# [G] X's settings are saved through its private API; the endpoint is not public.
TOGGLE_ENDPOINT = "/i/api/grok_settings"


def x_router(state: ReplicaState, pages: Pages) -> APIRouter:
    """Every X route of the replica, bound to `state`."""
    router = APIRouter(prefix=SITE.prefix)
    signed_in = member_page(state, SITE)

    add_sign_in_routes(router, state=state, pages=pages, site=SITE, template="x/login.html")
    add_toggle_endpoint(router, state=state, site=SITE, path=TOGGLE_ENDPOINT)

    @router.get("/settings/grok_settings", response_class=HTMLResponse)
    def show_grok_settings(
        request: Request, member: Annotated[Member, Depends(signed_in)]
    ) -> HTMLResponse:
        """The Grok & Third-party Collaborators page: data-sharing checkboxes, autosaved."""
        training_label = (
            TRAINING_LABEL_2024 if member.has(Behaviour.LABEL_VARIANT) else TRAINING_LABEL
        )
        training = (TRAINING_SETTING[Platform.X], training_label, TRAINING_DESCRIPTION)
        context = {
            "site": SITE,
            "absent": member.has(Behaviour.SETTING_ABSENT),
            "checkboxes": (training, *_OTHER_CHECKBOXES),
            "toggles": state.toggles(member),
            "save_endpoint": SITE.url(TOGGLE_ENDPOINT),
        }
        return pages.render(request, "x/grok_settings.html", context)

    return router
