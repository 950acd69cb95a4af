"""The console's queue: cases filtered by status, category, overdue and assignee, and assigning a case
to a moderator or admin (`cases.assigned_to`, audited). Read and written here only; cases.py owns the rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from backend import audit
from backend.cases import summary
from backend.domain_errors import InvalidInput, NotFound
from backend.store.db import utcnow
from backend.store.schema import accounts, cases
from backend.vocabulary import LOCKED_OUT, OPEN_CASE_STATUSES, CaseOrigin, CaseStatus, ReportCategory, Role

STATUSES = ("pending", CaseStatus.DECIDED, "all")  # "pending" is open or acknowledged
CATEGORIES = (*(c.value for c in ReportCategory), CaseOrigin.DETECTOR_FLAG.value)
ASSIGNABLE = (Role.MODERATOR, Role.ADMIN)
UNASSIGNED = "none"


@dataclass(frozen=True)
class Filters:
    status: str = "pending"
    category: str = ""  # "" any
    overdue: bool = False
    assignee: str = ""  # "" any, "none" unassigned, or an account id

    @classmethod
    def parse(cls, params: Any, me: str) -> Filters:
        status = str(params.get("status", "pending"))
        category = str(params.get("category", ""))
        assignee = str(params.get("assignee", ""))[:64]
        return cls(status if status in STATUSES else "pending", category if category in CATEGORIES else "",
                   params.get("overdue") in ("1", "on", "true"), me if assignee == "me" else assignee)


def queue(conn: Connection, ack_hours: float, decide_hours: float, filters: Filters,
          limit: int = 200) -> list[dict[str, Any]]:
    """Most severe first, then oldest first, as cases.queue; each with its assignee's name."""
    now = utcnow()
    query = select(cases)
    if filters.status == "pending":
        query = query.where(cases.c.status.in_(OPEN_CASE_STATUSES))
    elif filters.status != "all":
        query = query.where(cases.c.status == filters.status)
    if filters.category:
        query = query.where(cases.c.category == filters.category)
    if filters.overdue:
        # Pending and past a due time: not acknowledged in time, or not decided in time.
        query = query.where(cases.c.status != CaseStatus.DECIDED, or_(
            and_(cases.c.acknowledged_at.is_(None), cases.c.created_at < now - dt.timedelta(hours=ack_hours)),
            cases.c.created_at < now - dt.timedelta(hours=decide_hours)))
    if filters.assignee == UNASSIGNED:
        query = query.where(cases.c.assigned_to.is_(None))
    elif filters.assignee:
        query = query.where(cases.c.assigned_to == filters.assignee)
    rows = conn.execute(query.order_by(cases.c.severity.desc(), cases.c.created_at.asc(), cases.c.id)
                        .limit(limit)).all()
    names = {a.id: a.name for a in conn.execute(select(accounts.c.id, accounts.c.name).where(
        accounts.c.id.in_({r.assigned_to for r in rows if r.assigned_to})))}
    return [{**summary(r, ack_hours, decide_hours, now), "assigned_to": r.assigned_to,
             "assignee_name": names.get(r.assigned_to)} for r in rows]


def assignees(conn: Connection) -> list[dict[str, str]]:
    """Moderators and admins who may take a case, by name."""
    rows = conn.execute(select(accounts.c.id, accounts.c.name).where(
        accounts.c.role.in_(ASSIGNABLE), accounts.c.status.not_in(LOCKED_OUT)).order_by(accounts.c.name))
    return [{"id": r.id, "name": r.name} for r in rows]


def assigned_to(conn: Connection, case_id: str) -> str | None:
    value: str | None = conn.execute(select(cases.c.assigned_to).where(cases.c.id == case_id)).scalar()
    return value


def assign(conn: Connection, case_id: str, assignee: str | None, actor: str) -> None:
    """Assigns the case to a moderator or admin, or (None) unassigns it."""
    if assignee is not None:
        row = conn.execute(select(accounts.c.role, accounts.c.status).where(accounts.c.id == assignee)).first()
        if row is None or row.role not in ASSIGNABLE or row.status in LOCKED_OUT:
            raise InvalidInput("invalid_assignee", "a case is assigned to an active moderator or admin")
    before = conn.execute(select(cases.c.assigned_to).where(cases.c.id == case_id)).first()
    if before is None:
        raise NotFound("unknown_case", "no such case")
    conn.execute(cases.update().where(cases.c.id == case_id).values(assigned_to=assignee, updated_at=utcnow()))
    audit.append(conn, actor, "case.assigned", case_id, {"from": before.assigned_to, "to": assignee})
