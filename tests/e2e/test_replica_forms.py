"""The LinkedIn objection form and data-copy request, filled in as a person would."""

import re

import pytest
from playwright.sync_api import Page, expect

from orchestrator.replica import Behaviour, Platform

pytestmark = pytest.mark.browser

LINKEDIN = Platform.LINKEDIN
FORM = "/linkedin/help/linkedin/ask/TS-DPRO"
CASE_NUMBER = re.compile(r"CASE-\d{8}")


def fill_objection(page: Page) -> None:
    page.get_by_role("radiogroup", name="Type of request").get_by_label(
        "Object to processing"
    ).check()
    page.get_by_label("What processing do you object to?").select_option(
        label="Training non-content generating GAI models"
    )
    page.get_by_role("textbox", name="Please explain your request").fill(
        "I object to my data being used to train AI models."
    )


def test_objection_form_reports_every_missing_field(page, signed_in, replica):
    account = signed_in(LINKEDIN)
    page.goto(FORM)
    expect(page.get_by_role("heading", name="Data Processing Objection Form")).to_be_visible()
    email = page.get_by_role("textbox", name="Email address")
    expect(email).to_have_value(f"{account.account_id}@example.com")
    email.fill("not-an-email")

    page.get_by_role("button", name="Submit").click()

    alert = page.get_by_role("alert")
    for message in (
        "Select a type of request.",
        "Select the processing you object to.",
        "Explain your request.",
        "Enter a valid email address.",
    ):
        expect(alert).to_contain_text(message)
    explanation = page.get_by_role("textbox", name="Please explain your request")
    expect(explanation).to_have_attribute("aria-invalid", "true")
    state = replica.client.account_state(LINKEDIN, account.account_id)
    assert (state.objection_posts, state.objection_submissions) == (1, [])


def test_objection_is_submitted_once_with_a_case_number(page, signed_in, replica):
    account = signed_in(LINKEDIN)
    page.goto(FORM)
    fill_objection(page)

    page.get_by_role("button", name="Submit").click()

    expect(page.get_by_role("heading", name="We've received your request")).to_be_visible()
    case_number = CASE_NUMBER.search(page.get_by_text("Your case number is").inner_text())
    assert case_number is not None
    page.reload()
    submissions = replica.client.account_state(LINKEDIN, account.account_id).objection_submissions
    assert [s.case_number for s in submissions] == [case_number.group()]
    assert (submissions[0].request_type, submissions[0].purpose) == ("object", "non_content_gai")
    assert submissions[0].email == f"{account.account_id}@example.com"


def test_objection_form_failing_once_can_be_retried(page, signed_in, replica):
    account = signed_in(LINKEDIN, Behaviour.FORM_FAILS_ONCE)
    page.goto(FORM)
    fill_objection(page)

    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name="Submit").click()
    assert posted.value.status == 503
    expect(page.get_by_role("alert")).to_have_text(
        "We couldn't submit your request. Please try again."
    )
    assert replica.client.account_state(LINKEDIN, account.account_id).objection_submissions == []

    page.get_by_role("link", name="Try again").click()
    fill_objection(page)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text(CASE_NUMBER)).to_be_visible()
    state = replica.client.account_state(LINKEDIN, account.account_id)
    assert (state.objection_posts, len(state.objection_submissions)) == (2, 1)


def test_requesting_a_data_archive_is_recorded(page, signed_in, replica):
    account = signed_in(LINKEDIN)
    page.goto("/linkedin/mypreferences/d/categories/privacy")
    page.get_by_role("link", name="Get a copy of your data").click()
    expect(page.get_by_role("heading", name="Get a copy of your data")).to_be_visible()

    page.get_by_role("radio", name=re.compile("^Want something in particular")).check()
    page.get_by_role("button", name="Request archive").click()
    expect(page.get_by_role("alert")).to_have_text("Select at least one file.")

    page.get_by_role("radio", name=re.compile("^Want something in particular")).check()
    page.get_by_role("checkbox", name="Connections").check()
    page.get_by_role("button", name="Request archive").click()
    expect(page.get_by_role("status")).to_contain_text("We're preparing your archive")
    requests = replica.client.account_state(LINKEDIN, account.account_id).archive_requests
    assert [(r.scope, r.files) for r in requests] == [("selected", ["Connections"])]
