"""Notifications: email to people, written once and delivered reliably.

Owns the `mail_outbox` table, the Jinja2 email templates (HTML and plain text) and SMTP delivery.
A message is rendered and queued in the same transaction as the change that causes it
(`outbox.enqueue`), and delivered after commit by `delivery.deliver_due`, which retries with
backoff: an SMTP outage delays mail, it never loses it or fails the change. It knows nothing of
consents or campaigns: callers hand it an address, a template name and plain data.
"""
