"""A deal's working records: requirement items, solution documents, follow-up activities, tasks. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from opportunities.domain.pipeline import Stage
from shangji_kit import company_time
from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

TEXT_MAX = 4000
PRIORITIES = ("high", "medium", "low")
ACTIVITY_KINDS = ("call", "visit", "email", "meeting")
OPEN, DONE = "open", "done"


@dataclass(frozen=True)
class Requirement:
    id: str
    opportunity_id: str
    text: str
    priority: str = "medium"
    answer: str = ""
    create_time: datetime | None = None
    update_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"opportunities/{self.opportunity_id}/requirements/{self.id}"

    @property
    def answered(self) -> bool:
        return bool(self.answer.strip())


def checked_requirement(r: Requirement, prefix: str = "requirement.") -> Requirement:
    text, priority = r.text.strip(), (r.priority.strip().lower() or "medium")
    v = []
    if not text:
        v.append(FieldViolation(f"{prefix}text", "required"))
    elif len(text) > TEXT_MAX:
        v.append(FieldViolation(f"{prefix}text", f"at most {TEXT_MAX} characters"))
    if priority not in PRIORITIES:
        v.append(FieldViolation(f"{prefix}priority", f"{priority!r} is not one of {', '.join(PRIORITIES)}"))
    if len(r.answer) > TEXT_MAX:
        v.append(FieldViolation(f"{prefix}answer", f"at most {TEXT_MAX} characters"))
    if v:
        raise InvalidArgument(v)
    return Requirement(id=r.id, opportunity_id=r.opportunity_id, text=text, priority=priority,
                       answer=r.answer.strip(), create_time=r.create_time, update_time=r.update_time)


@dataclass(frozen=True)
class DocumentVersion:
    opportunity_id: str
    document: str
    uri: str
    author_id: str
    version: int = 0  # given by the store: one more than the document's latest
    note: str = ""
    create_time: datetime | None = None


def checked_document(d: DocumentVersion, prefix: str = "document.") -> DocumentVersion:
    document, uri = " ".join(d.document.split()), d.uri.strip()
    v = []
    if not document:
        v.append(FieldViolation(f"{prefix}document", "required: the document's name, e.g. 方案书"))
    elif len(document) > 200:
        v.append(FieldViolation(f"{prefix}document", "at most 200 characters"))
    if not uri:
        v.append(FieldViolation(f"{prefix}uri", "required: where the file is kept"))
    if v:
        raise InvalidArgument(v)
    return DocumentVersion(opportunity_id=d.opportunity_id, document=document, uri=uri, author_id=d.author_id,
                           note=d.note.strip(), create_time=d.create_time)


@dataclass(frozen=True)
class Activity:
    id: str
    opportunity_id: str
    kind: str
    occur_time: datetime
    author_id: str
    notes: str = ""
    create_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"opportunities/{self.opportunity_id}/activities/{self.id}"


def checked_activity(a: Activity, now: datetime, prefix: str = "activity.") -> Activity:
    kind = a.kind.strip().lower()
    v = []
    if kind not in ACTIVITY_KINDS:
        v.append(FieldViolation(f"{prefix}kind", f"required: one of {', '.join(ACTIVITY_KINDS)}"))
    if a.occur_time > now + timedelta(minutes=5):  # clocks differ a little; a follow-up is not planned here
        v.append(FieldViolation(f"{prefix}occur_time", "in the future: record a follow-up once it happened "
                                                       "(plan one as a task)"))
    if len(a.notes) > TEXT_MAX:
        v.append(FieldViolation(f"{prefix}notes", f"at most {TEXT_MAX} characters"))
    if v:
        raise InvalidArgument(v)
    return Activity(id=a.id, opportunity_id=a.opportunity_id, kind=kind, occur_time=a.occur_time,
                    author_id=a.author_id, notes=a.notes.strip(), create_time=now)


@dataclass
class Task:
    id: str
    opportunity_id: str
    title: str
    due_date: date
    assignee_id: str
    create_time: datetime
    status: str = OPEN
    creator_id: str | None = None
    stage_key: str = ""
    complete_time: datetime | None = None
    completed_by: str | None = None

    @property
    def name(self) -> str:
        return f"opportunities/{self.opportunity_id}/tasks/{self.id}"

    def complete(self, user_id: str, now: datetime) -> None:
        if self.status == DONE:
            raise FailedPrecondition(f"{self.name} is already done", reason="TASK_DONE",
                                     metadata={"resource": self.name})
        self.status, self.complete_time, self.completed_by = DONE, now, user_id

    def reopen(self) -> None:
        if self.status == OPEN:
            raise FailedPrecondition(f"{self.name} is open", reason="TASK_OPEN", metadata={"resource": self.name})
        self.status, self.complete_time, self.completed_by = OPEN, None, None


def new_task(*, id: str, opportunity_id: str, title: str, due_date: date | None, assignee_id: str | None,
             creator_id: str, now: datetime, prefix: str = "task.") -> Task:
    title = title.strip()
    v = []
    if not title:
        v.append(FieldViolation(f"{prefix}title", "required"))
    elif len(title) > 200:
        v.append(FieldViolation(f"{prefix}title", "at most 200 characters"))
    if due_date is None:
        v.append(FieldViolation(f"{prefix}due_date", "required: YYYY-MM-DD"))
    elif due_date < company_time.today(now):
        v.append(FieldViolation(f"{prefix}due_date", f"{due_date.isoformat()} is in the past"))
    if assignee_id is None:
        v.append(FieldViolation(f"{prefix}assignee", "required: users/{id}"))
    if v:
        raise InvalidArgument(v)
    return Task(id=id, opportunity_id=opportunity_id, title=title, due_date=due_date, assignee_id=assignee_id,
                create_time=now, creator_id=creator_id)


def tasks_on_entry(stage: Stage, opportunity_id: str, owner_id: str | None, team_roles: dict[str, str], new_id,
                   now: datetime) -> list[Task]:
    """The tasks a deal gets when it enters ``stage``: each template's role filled by the team member with that role
    (``team_roles``: role -> user id), else by the owner. None without an owner (the assignment queue)."""
    out = []
    for t in stage.tasks_on_entry:
        assignee = team_roles.get(t.role) or owner_id
        if assignee is None:
            continue
        out.append(Task(id=new_id(), opportunity_id=opportunity_id, title=t.title,
                        due_date=company_time.today(now) + timedelta(days=t.due_in_days), assignee_id=assignee,
                        create_time=now, stage_key=stage.key))
    return out


@dataclass(frozen=True)
class TaskCreated:
    task: Task
    opportunity_title: str


@dataclass(frozen=True)
class ActivityRecorded:
    """A follow-up was recorded on a deal: the owner's follow-up reminders stop (notify)."""

    activity: Activity
    owner_id: str


@dataclass(frozen=True)
class TaskCompleted:
    task: Task
    actor_id: str
