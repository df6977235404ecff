"""The web app: `create_app(settings)` builds one FastAPI application for every HTTP surface.

Today it serves the employees' consent pages under `/consent/...` (server-rendered Jinja2, token
gated, public) and `/healthz`; the admin UI and the JSON API (`/api/...`) join the same app later
as further routers. HTTP lives only here: pages call the same services the CLI calls, and each
request that changes anything is one transaction. `errors` turns every failure into a clear
page for people or JSON for `/api`, with the right status and never a stack trace.
"""
