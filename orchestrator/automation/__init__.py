"""The Playwright engine that runs a policy in an employee's browser session on a fleet host.

It drives Chromium through a policy's steps, verifies the end state and returns proof; it keeps
no database and knows nothing of campaigns or consent, so a fleet host needs only this package,
the policies and a browser.
"""
