"""The summary as JSON for other programs: status codes (stable) next to labels (translated), ISO
dates, UTC timestamps."""

from __future__ import annotations

import datetime as dt
import json

from bot.render.text import reported_label, timing_label
from storage.progress_rules import REPORTED, TIMINGS
from storage.summary import AgencySummary, Summary, TaskSummary, UpdateInfo

MIME_TYPE = "application/json"


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _counts(counts, keys) -> dict[str, int]:
    return {key: counts[key] for key in keys}


def _update(update: UpdateInfo) -> dict:
    return {
        "id": update.id,
        "agency_id": update.agency_id,
        "member": update.member_name,
        "status": update.status,
        "status_label": reported_label(update.status),
        "percent": update.percent,
        "note": update.note,
        "evidence": update.evidence,
        "evidence_files": [
            {
                "name": ref.name,
                "sha256": ref.sha256,
                "size": ref.size,
                "type": ref.mime_type,
                "state": ref.state,
            }
            for ref in update.files
        ],
        "cycle": _iso(update.cycle),
        "created_at": _iso(update.created_at),
        "edited_at": _iso(update.edited_at),
    }


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
        "lead_agencies": task.leads,
        "reported": task.reported,
        "reported_label": reported_label(task.reported),
        "percent": task.percent,
        "timing": task.timing,
        "timing_label": timing_label(task.timing),
        "done_on": _iso(task.standing.done_on),
        "done_by_agency_ids": sorted(task.standing.done_by),
        "removed_on": _iso(task.removed_on),
        "updated_in_period": task.updated_in_period,
        "evidence": task.evidence,
        "latest_update": None if latest is None else _update(latest),
        "updates_by_agency": [_update(update) for update in task.updates],
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
        "average_progress": round(agency.average_progress, 1),
        "reported_counts": _counts(agency.reported_counts, REPORTED),
        "timing_counts": _counts(agency.timing_counts, TIMINGS),
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
        "co_lead_done": summary.co_lead_rule,
        "average_progress": round(summary.average_progress, 1),
        "reported_counts": _counts(summary.reported_counts, REPORTED),
        "timing_counts": _counts(summary.timing_counts, TIMINGS),
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
