"""Every table of every room, gathered so migrations and tests see the whole schema."""

from sqlmodel import SQLModel

from orchestrator.admins import models as admins
from orchestrator.audit import models as audit
from orchestrator.campaigns import models as campaigns
from orchestrator.consent import models as consent
from orchestrator.employees import models as employees
from orchestrator.evidence import models as evidence
from orchestrator.jobs import models as jobs
from orchestrator.notifications import models as notifications
from orchestrator.reports import models as reports

TABLE_MODULES = (
    admins,
    audit,
    campaigns,
    consent,
    employees,
    evidence,
    jobs,
    notifications,
    reports,
)
metadata = SQLModel.metadata
