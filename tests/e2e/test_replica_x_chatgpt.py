"""The X and ChatGPT replicas, and the control API the tests and the demo rely on."""

import re

import pytest
from playwright.sync_api import expect

from orchestrator.replica import Behaviour, Platform, ReplicaRequestError

pytestmark = pytest.mark.browser

X, CHATGPT, LINKEDIN = Platform.X, Platform.CHATGPT, Platform.LINKEDIN
GROK_PAGE = "/x/settings/grok_settings"
GROK_LABEL = (
    "Allow your public data as well as your interactions, inputs, and results with Grok and xAI"
    " to be used for training and fine-tuning"
)
DATA_CONTROLS = "/chatgpt/settings/data-controls"
IMPROVE_LABEL = "Improve the model for everyone"
IMPROVE_CHATGPT = "improve_model_for_everyone"


def test_x_training_checkbox_persists(page, signed_in, replica):
    account = signed_in(X)
    page.goto(GROK_PAGE)
    expect(page.get_by_role("heading", name="Grok & Third-party Collaborators")).to_be_visible()
    checkbox = page.get_by_role("checkbox", name=GROK_LABEL, exact=True)
    expect(checkbox).to_be_checked()

    checkbox.click()
    expect(checkbox).to_be_enabled()
    expect(checkbox).not_to_be_checked()

    state = replica.client.account_state(X, account.account_id)
    assert state.toggles == {
        "grok_training": False,
        "grok_personalization": True,
        "grok_conversation_history": True,
    }
    assert state.toggle_changes["grok_training"] == 1
    page.reload()
    expect(checkbox).not_to_be_checked()


def test_x_failed_save_reverts_with_xs_error_text(page, signed_in):
    signed_in(X, Behaviour.SAVE_FAILS_ONCE)
    page.goto(GROK_PAGE)
    checkbox = page.get_by_role("checkbox", name=GROK_LABEL, exact=True)
    checkbox.click()
    expect(page.get_by_role("alert")).to_have_text("Something went wrong. Try reloading.")
    expect(checkbox).to_be_checked()


def test_x_label_variant_is_the_2024_wording(page, signed_in):
    signed_in(X, Behaviour.LABEL_VARIANT)
    page.goto(GROK_PAGE)
    expect(
        page.get_by_role("checkbox", name=re.compile(r"^Allow your posts .*Grok"))
    ).to_be_checked()
    expect(page.get_by_role("checkbox", name=GROK_LABEL, exact=True)).to_have_count(0)


def test_x_signed_out_goes_to_the_login_flow(page, signed_in):
    signed_in(X, Behaviour.SIGNED_OUT)
    page.goto(GROK_PAGE)
    expect(page).to_have_url(re.compile(r"/x/i/flow/login\?redirect_after_login="))


def test_chatgpt_switch_persists(page, signed_in, replica):
    account = signed_in(CHATGPT)
    page.goto(DATA_CONTROLS)
    switch = page.get_by_role("switch", name=IMPROVE_LABEL)
    expect(switch).to_be_checked()

    switch.click()
    expect(switch).to_be_enabled()
    expect(switch).not_to_be_checked()

    state = replica.client.account_state(CHATGPT, account.account_id)
    assert (state.toggles[IMPROVE_CHATGPT], state.toggle_changes[IMPROVE_CHATGPT]) == (False, 1)
    page.reload()
    expect(switch).not_to_be_checked()


def test_chatgpt_layout_variant_puts_the_switch_in_a_dialog(page, signed_in, replica):
    account = signed_in(CHATGPT, Behaviour.LAYOUT_VARIANT)
    page.goto(DATA_CONTROLS)
    expect(page.get_by_role("switch", name=IMPROVE_LABEL)).to_have_count(0)

    page.get_by_role("button", name="On").click()
    dialog = page.get_by_role("dialog", name="Model improvement")
    dialog.get_by_role("switch", name=IMPROVE_LABEL).click()
    expect(dialog.get_by_role("switch", name=IMPROVE_LABEL)).not_to_be_checked()
    expect(dialog.get_by_role("switch", name=IMPROVE_LABEL)).to_be_enabled()
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()
    expect(page.get_by_role("button", name="Off")).to_be_visible()
    assert (
        replica.client.account_state(CHATGPT, account.account_id).toggles[IMPROVE_CHATGPT] is False
    )


def test_chatgpt_signed_out_goes_to_login(page, signed_in):
    signed_in(CHATGPT, Behaviour.SIGNED_OUT)
    page.goto(DATA_CONTROLS)
    expect(page).to_have_url(re.compile(r"/chatgpt/auth/login\?next=%2Fchatgpt%2F"))
    expect(page.get_by_role("heading", name="Welcome back")).to_be_visible()


def test_storage_state_signs_a_fresh_context_in(browser, replica):
    replica.client.seed_account(LINKEDIN, "storage-state")
    storage_state = replica.client.storage_state(LINKEDIN, "storage-state")
    [cookie] = storage_state["cookies"]
    assert (cookie["name"], cookie["domain"], cookie["path"]) == ("li_at", "127.0.0.1", "/linkedin")

    context = browser.new_context(base_url=replica.base_url, storage_state=storage_state)
    try:
        page = context.new_page()
        page.goto(replica.client.replica_url("https://www.linkedin.com/mypreferences/d/"))
        expect(page.get_by_role("heading", name="Account preferences")).to_be_visible()
    finally:
        context.close()


def test_seeding_refuses_behaviours_a_platform_does_not_model(replica):
    with pytest.raises(ReplicaRequestError, match="cookie_banner"):
        replica.client.seed_account(X, "no-banner", behaviours=[Behaviour.COOKIE_BANNER])


def test_unknown_account_and_reset(replica):
    replica.client.seed_account(CHATGPT, "to-forget")
    replica.client.reset()
    with pytest.raises(ReplicaRequestError, match="404"):
        replica.client.account_state(CHATGPT, "to-forget")


def test_replica_url_rewrites_real_origins(replica):
    assert replica.client.replica_url("https://x.com/settings/grok_settings") == (
        f"{replica.base_url}/x/settings/grok_settings"
    )
    with pytest.raises(ValueError, match="does not stand in"):
        replica.client.replica_url("https://example.com/")
