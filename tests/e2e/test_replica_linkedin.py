"""The LinkedIn replica driven as a person would, checked against its server-side state."""

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from orchestrator.replica import Behaviour, Platform

pytestmark = pytest.mark.browser

LINKEDIN = Platform.LINKEDIN
AI_PAGE = "/linkedin/mypreferences/d/settings/data-for-ai-improvement"
AI_LABEL = "Use my data for training content creation AI models"
AI_LABEL_ANY = re.compile(r"Use my data for training content[- ]creation AI models")
AI_SETTING = "data_for_ai_improvement"
FAILURE_TEXT = "Something went wrong. Please try again."


def ai_switch(page: Page):
    return page.get_by_role("switch", name=AI_LABEL_ANY)


def test_turning_the_switch_off_persists_and_survives_reload(page, signed_in, replica):
    account = signed_in(LINKEDIN)
    page.goto(AI_PAGE)
    expect(page.get_by_role("heading", name="Data for Generative AI Improvement")).to_be_visible()
    expect(page.get_by_text("Can LinkedIn use your personal data")).to_be_visible()
    switch = page.get_by_role("switch", name=AI_LABEL, exact=True)
    expect(switch).to_be_checked()

    switch.click()
    expect(switch).to_be_enabled()
    expect(switch).not_to_be_checked()

    state = replica.client.account_state(LINKEDIN, account.account_id)
    assert state.toggles[AI_SETTING] is False
    assert state.toggle_changes[AI_SETTING] == 1
    assert state.deny_listed_visits == []
    page.reload()
    expect(switch).not_to_be_checked()
    page.goto("/linkedin/mypreferences/d/categories/privacy")
    expect(page.get_by_role("link", name="Data for Generative AI Improvement Off")).to_be_visible()


def test_already_opted_out_account_shows_the_switch_off(page, signed_in):
    signed_in(LINKEDIN, Behaviour.ALREADY_OPTED_OUT)
    page.goto(AI_PAGE)
    expect(ai_switch(page)).not_to_be_checked()


def test_failed_save_reverts_the_switch_and_alerts_then_a_retry_works(page, signed_in, replica):
    account = signed_in(LINKEDIN, Behaviour.SAVE_FAILS_ONCE)
    page.goto(AI_PAGE)
    switch = ai_switch(page)

    switch.click()
    expect(page.get_by_role("alert")).to_have_text(FAILURE_TEXT)
    expect(switch).to_be_checked()
    state = replica.client.account_state(LINKEDIN, account.account_id)
    assert (state.toggles[AI_SETTING], state.toggle_changes[AI_SETTING]) == (True, 0)
    assert state.failed_saves == 1

    switch.click()
    expect(switch).to_be_enabled()
    expect(switch).not_to_be_checked()
    expect(page.get_by_role("alert")).to_be_hidden()
    state = replica.client.account_state(LINKEDIN, account.account_id)
    assert (state.toggles[AI_SETTING], state.toggle_changes[AI_SETTING]) == (False, 1)


def test_slow_save_shows_the_switch_busy_until_saved(page, signed_in, replica):
    account = signed_in(LINKEDIN, Behaviour.SLOW_SAVE)
    page.goto(AI_PAGE)
    switch = ai_switch(page)

    switch.click()
    expect(switch).to_have_attribute("aria-busy", "true")
    expect(switch).to_be_disabled()
    expect(switch).to_be_enabled()
    expect(switch).not_to_have_attribute("aria-busy", "true")
    assert replica.client.account_state(LINKEDIN, account.account_id).toggles[AI_SETTING] is False


def test_layout_variant_resolves_by_role_and_name(page, signed_in, replica):
    account = signed_in(LINKEDIN, Behaviour.LAYOUT_VARIANT)
    page.goto(AI_PAGE)
    expect(page.get_by_role("heading", name="Data for Generative AI Improvement")).to_be_visible()
    switch = page.get_by_role("switch", name=AI_LABEL, exact=True)
    assert switch.evaluate("element => element.tagName") == "BUTTON"
    expect(switch).to_have_attribute("aria-checked", "true")

    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    expect(switch).to_be_enabled()
    assert replica.client.account_state(LINKEDIN, account.account_id).toggles[AI_SETTING] is False


def test_label_variant_is_hyphenated(page, signed_in):
    signed_in(LINKEDIN, Behaviour.LABEL_VARIANT)
    page.goto(AI_PAGE)
    expect(
        page.get_by_role("switch", name="Use my data for training content-creation AI models")
    ).to_be_checked()
    expect(page.get_by_role("switch", name=AI_LABEL, exact=True)).to_have_count(0)


def test_setting_absent_offers_no_control(page, signed_in):
    signed_in(LINKEDIN, Behaviour.SETTING_ABSENT)
    page.goto(AI_PAGE)
    expect(page.get_by_text("not available in your region")).to_be_visible()
    expect(page.get_by_role("switch")).to_have_count(0)
    expect(page.get_by_role("checkbox")).to_have_count(0)
    page.goto("/linkedin/mypreferences/d/categories/privacy")
    expect(page.get_by_role("link", name=re.compile("Data for Generative AI"))).to_have_count(0)


def test_class_names_change_on_every_render(page, signed_in):
    signed_in(LINKEDIN)
    page.goto(AI_PAGE)
    first = ai_switch(page).get_attribute("class")
    page.reload()
    assert ai_switch(page).get_attribute("class") != first


def test_expired_session_redirects_to_sign_in_and_back(page, signed_in, replica):
    account = signed_in(LINKEDIN, Behaviour.SIGNED_OUT)
    page.goto(AI_PAGE)
    expect(page).to_have_url(re.compile(r"/linkedin/login\?session_redirect=%2Flinkedin%2F"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()

    page.get_by_label("Email or phone").fill(f"{account.account_id}@example.com")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")

    page.get_by_label("Password").fill("replica-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(re.escape(AI_PAGE) + "$"))
    expect(ai_switch(page)).to_be_checked()
    statuses = [
        r.status for r in replica.client.account_state(LINKEDIN, account.account_id).requests
    ]
    assert statuses[0] == 302


def test_checkpoint_interposes_a_security_check(page, signed_in, replica):
    account = signed_in(LINKEDIN, Behaviour.CHECKPOINT)
    page.goto(AI_PAGE)
    expect(page).to_have_url(re.compile(r"/linkedin/checkpoint/challenge/"))
    expect(page.get_by_role("heading", name="Let's do a quick security check")).to_be_visible()
    assert replica.client.account_state(LINKEDIN, account.account_id).checkpoint_pending

    page.get_by_role("checkbox", name="I'm not a robot").check()
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(re.escape(AI_PAGE) + "$"))
    expect(ai_switch(page)).to_be_visible()
    assert not replica.client.account_state(LINKEDIN, account.account_id).checkpoint_pending


def test_rate_limit_answers_429_once(page, signed_in):
    signed_in(LINKEDIN, Behaviour.RATE_LIMITED_ONCE)
    response = page.goto(AI_PAGE)
    assert response is not None
    assert response.status == 429
    assert response.headers["retry-after"] == "1"

    response = page.reload()
    assert response is not None
    assert response.status == 200
    expect(ai_switch(page)).to_be_visible()


def test_cookie_banner_blocks_clicks_until_dismissed(page, signed_in, replica):
    account = signed_in(LINKEDIN, Behaviour.COOKIE_BANNER)
    page.goto(AI_PAGE)
    banner = page.get_by_role("dialog", name=re.compile("cookie", re.IGNORECASE))
    expect(banner).to_be_visible()
    expect(page.locator("#voyager-gdpr-2025")).to_be_visible()
    with pytest.raises(PlaywrightError, match="intercepts pointer events"):
        ai_switch(page).click(timeout=500)
    assert replica.client.account_state(LINKEDIN, account.account_id).toggles[AI_SETTING] is True

    banner.get_by_role("button", name="Reject").click()
    expect(banner).to_be_hidden()
    ai_switch(page).click()
    expect(ai_switch(page)).to_be_enabled()
    state = replica.client.account_state(LINKEDIN, account.account_id)
    assert (state.cookie_consent, state.toggles[AI_SETTING]) == ("rejected", False)
    page.reload()
    expect(banner).to_have_count(0)


def test_deny_listed_visits_are_recorded(page, signed_in, replica):
    account = signed_in(LINKEDIN)
    page.goto("/linkedin/mypreferences/d/close-accounts")
    expect(page.get_by_role("heading", name="Close account")).to_be_visible()
    page.goto("/linkedin/mypreferences/d/hibernate-account")

    visits = replica.client.account_state(LINKEDIN, account.account_id).deny_listed_visits
    assert [visit.path for visit in visits] == [
        "/linkedin/mypreferences/d/close-accounts",
        "/linkedin/mypreferences/d/hibernate-account",
    ]


def test_click_path_from_the_feed_to_the_setting(page, signed_in):
    signed_in(LINKEDIN)
    page.goto("/linkedin/feed/")
    page.get_by_role("button", name="Me").click()
    page.get_by_role("link", name="Settings & Privacy").click()
    expect(page).to_have_url(re.compile(r"/linkedin/mypreferences/d/categories/account$"))
    expect(page.get_by_role("link", name="Close account")).to_be_visible()

    page.get_by_role("navigation", name="Settings").get_by_role("link", name="Data privacy").click()
    expect(page.get_by_role("heading", name="How LinkedIn uses your data")).to_be_visible()
    page.get_by_role("link", name="Data for Generative AI Improvement On").click()
    expect(page).to_have_url(re.compile(re.escape(AI_PAGE) + "$"))


@pytest.mark.parametrize(
    ("path", "lands_on"),
    [
        ("/linkedin/mypreferences/d/", "/linkedin/mypreferences/d/categories/account"),
        ("/linkedin/psettings/data-privacy", "/linkedin/mypreferences/d/categories/privacy"),
        ("/linkedin/uas/login", "/linkedin/login"),
    ],
)
def test_index_and_legacy_addresses_redirect(page, signed_in, path, lands_on):
    signed_in(LINKEDIN)
    page.goto(path)
    expect(page).to_have_url(re.compile(re.escape(lands_on) + "$"))
