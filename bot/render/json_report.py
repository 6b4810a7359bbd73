"""The summary as JSON for other programs: status codes (stable) next to labels (translated), ISO
dates, UTC timestamps."""

from __future__ import annotations

import datetime as dt
import json

from bot.render.report_rows import status_label
from bot.render.text import reported_label
from storage.summary import STATUSES, AgencySummary, Summary, TaskSummary

MIME_TYPE = "application/json"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _counts(counts) -> dict[str, int]:
    return {status: counts[status] for status in STATUSES}


def _task(task: TaskSummary) -> dict:
    latest = task.latest
    return {
        "id": task.id,
        "code": task.code,
        "number": task.number,
        "section_id": task.section_id,
        "content": task.content,
        "timeframe": task.timeframe_text,
        "start_on": _iso(task.start_on),
        "end_on": _iso(task.end_on),
        "lead": task.lead_text,
        "coordinating": task.coordinating_text,
        "lead_agency_ids": task.lead_ids,
        "coordinating_agency_ids": task.coordinating_ids,
        "status": task.status,
        "status_label": status_label(task.status),
        "removed_on": _iso(task.removed_on),
        "updated_in_period": task.updated_in_period,
        "latest_update": None
        if latest is None
        else {
            "id": latest.id,
            "agency_id": latest.agency_id,
            "member": latest.member_name,
            "status": latest.status,
            "status_label": reported_label(latest.status),
            "percent": latest.percent,
            "note": latest.note,
            "evidence": latest.evidence,
            "cycle": _iso(latest.cycle),
            "created_at": _iso(latest.created_at),
            "edited_at": _iso(latest.edited_at),
        },
    }


def _agency(agency: AgencySummary) -> dict:
    return {
        "id": agency.id,
        "name": agency.name,
        "short_name": agency.short_name,
        "expected": agency.expected,
        "reported": agency.reported,
        "tasks": agency.total,
        "done": agency.done,
        "completion": round(agency.completion, 4),
        "counts": _counts(agency.counts),
        "tasks_not_updated": agency.without_update,
        "focal_points": agency.focal_points,
        "unreachable_members": agency.unreachable_members,
    }


def summary_document(summary: Summary) -> dict:
    plan = summary.plan
    return {
        "plan": {
            "id": plan.id,
            "number": plan.number,
            "title": plan.title,
            "issued": _iso(plan.issued),
            "year": plan.year,
            "reporting_deadlines": [_iso(day) for day in plan.deadlines],
        },
        "period": {
            "cycle": _iso(summary.cycle),
            "start": _iso(summary.start),
            "end": _iso(summary.end),
            "today": _iso(summary.today),
            "as_of": _iso(summary.as_of),
        },
        "detail": summary.detail,
        "tasks_total": summary.total,
        "counts": _counts(summary.counts),
        "agencies_expected": len(summary.expected_agencies),
        "agencies_reported": len(summary.reported_agencies),
        "agencies": [_agency(agency) for agency in summary.agencies],
        "sections": [
            {"id": s.id, "numeral": s.numeral, "heading": s.heading, "agency_id": s.agency_id}
            for s in summary.sections
        ],
        "tasks": [_task(task) for task in summary.tasks],
        "unreachable_members": [
            {
                "id": m.id,
                "name": m.name,
                "role": m.role,
                "agency_id": m.agency_id,
                "agency": m.agency_name,
                "reason": m.reason,
                "since": _iso(m.since),
            }
            for m in summary.unreachable
        ],
    }


def render_json(summary: Summary) -> bytes:
    return json.dumps(summary_document(summary), ensure_ascii=False, indent=2).encode("utf-8")
