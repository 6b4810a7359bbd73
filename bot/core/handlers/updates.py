"""/capnhat: report progress, guided (task → status → note → evidence) or in one line
(`/capnhat 3 hoàn thành Đã phát sóng 12 chương trình`), and edits of the message that reported it.

When the agency has tasks in several plans being followed, the guided update asks for the plan
first, and a one-line update may name it: "87/IV.3 xong", "87-2026 IV.3 xong"; a reference that fits
tasks of several plans is asked about with a button per plan."""

from __future__ import annotations

import re

from bot.core import progress
from bot.core.context import Answer, Context
from bot.core.flows import Flow, Step
from bot.core.handlers import plans as plans_handlers
from bot.core.handlers.access import needs_agency, no_plan
from bot.core.handlers.plans import plan_label
from bot.core.messages import Reply
from bot.core.parsing import UpdateLine, find_url, parse_task_ref, parse_update_line
from bot.evidence import MB, fetch_soon, file_limit_mb
from bot.i18n import _, format_day
from bot.render.text import reported_label, shorten
from storage import evidence as evidence_store
from storage import people
from storage.assignments import AssignedTask
from storage.models.people import UPDATE_STATUSES
from storage.models.plan import Plan, Task
from storage.plans.repository import match_plans

FLOW = "capnhat"
SKIP = "skip"

# Most agencies have fewer tasks than this; an agency with more picks by typing the number.
MAX_TASK_BUTTONS = 40


def _problem_text(error: progress.InvalidUpdate, outcome: str) -> str:
    """What is wrong with an update, then `outcome` (what happened to it)."""
    if error.problem == progress.NOTE_TOO_LONG:
        problem = _(
            "The note is too long: {length} characters, the limit is {limit}. Please shorten it."
        ).format(**error.details)
    elif error.problem == progress.PERCENT_OUT_OF_RANGE:
        problem = _("A percentage must be between 0 and 100, not {percent}%.").format(**error.details)
    else:
        problem = _("That is not a status I know.")
    return f"{problem} {outcome}"


async def _agency_groups(ctx: Context) -> tuple[list[tuple[Plan, list[AssignedTask]]], list[Reply] | None]:
    """The plans being followed that give the member's agency tasks, each with those tasks; or the
    replies explaining why there are none."""
    plan = await ctx.plan()
    if plan is None:
        return [], no_plan()
    if ctx.member.agency_id is None:
        return [], needs_agency(ctx)
    groups = await ctx.agency_plans(ctx.member.agency_id)
    if not groups and not await ctx.active_plans():
        # No plan is followed any more: a late report still goes to the plan that ended last (the
        # one /nhiemvu shows), counted towards its last cycle.
        tasks = await ctx.agency_tasks(ctx.member.agency_id, plan)
        groups = [(plan, tasks)] if tasks else []
    return groups, None


async def _agency_tasks(ctx: Context) -> tuple[list[AssignedTask] | None, list[Reply] | None]:
    """The tasks the member reports on in the plan of the update under way (or the only plan), or
    the replies explaining why there are none."""
    groups, refusal = await _agency_groups(ctx)
    if refusal:
        return None, refusal
    wanted = ctx.flow_data.get("plan_id") if ctx.flow == FLOW else None
    for plan, tasks in groups:
        if plan.id == wanted:
            return tasks, None
    if len(groups) == 1:
        return groups[0][1], None
    return [task for _plan, tasks in groups for task in tasks], None


# "87/IV.3", "87/3": a plan's number and a task in one word; "87-2026", "87/2026", "87/KH-UBND": a plan
# before the task ("87-2026 IV.3 xong").
_QUALIFIED = re.compile(r"^(?P<plan>\d+)/(?P<ref>(?:[IVXLCivxlc]+\.)?\d+)$")
_PLAN_WORD = re.compile(r"^\d+(?:[-/](?:\d{4}|[A-Za-zĐđ][\w-]*))(?:[-/]\d{4})?$")


def _split_plan(text: str) -> tuple[str | None, str]:
    """The plan a one-line update names, and the update without it."""
    words = text.split(None, 1)
    if not words:
        return None, text
    rest = words[1] if len(words) > 1 else ""
    if m := _QUALIFIED.match(words[0]):
        return m["plan"], f"{m['ref']} {rest}".strip()
    if _PLAN_WORD.match(words[0]) and rest:
        return words[0], rest
    return None, text


def _plans_matching(groups, reference: str):
    listings = [plans_handlers._listing(plan, "active") for plan, _tasks in groups]
    ids = {p.id for p in match_plans(listings, reference)}
    return [(plan, tasks) for plan, tasks in groups if plan.id in ids]


def _task_label(task: AssignedTask) -> str:
    return f"{task.code} · {shorten(task.content, 48)}"


async def _ask_task(
    ctx: Context, tasks: list[AssignedTask], intro: str | None = None, **carry
) -> list[Reply]:
    await ctx.goto(FLOW, "task", **carry)
    text = _("Which task? Choose it, or type its number (or its plan numbering, such as IV.3).")
    if intro:
        text = f"{intro}\n{text}"
    if len(tasks) > MAX_TASK_BUTTONS:
        listing = "\n".join(f"{n}. {_task_label(t)}" for n, t in enumerate(tasks, start=1))
        return [Reply(f"{text}\n{listing}")]
    buttons = [[await ctx.choice(_task_label(task), task.id)] for task in tasks]
    return [Reply(text, buttons=buttons)]


async def _ask_status(
    ctx: Context, task: AssignedTask | Task, intro: str | None = None, **carry
) -> list[Reply]:
    await ctx.goto(FLOW, "status", task_id=task.id, **carry)
    text = _("Task {code}: {content}\nWhat is its status? You may add a percentage, such as “60%”.").format(
        code=task.code, content=shorten(task.content, 160)
    )
    if intro:
        text = f"{intro}\n{text}"
    buttons = [[await ctx.choice(reported_label(status).capitalize(), status)] for status in UPDATE_STATUSES]
    return [Reply(text, buttons=buttons)]


async def _ask_note(ctx: Context, **carry) -> list[Reply]:
    await ctx.goto(FLOW, "note", **carry)
    text = _("In a few words, what was done (or what is in the way)? At most {limit} characters.").format(
        limit=progress.NOTE_MAX_CHARS
    )
    return [Reply(text, buttons=[[await ctx.choice(_("No note"), SKIP)]])]


async def _ask_evidence(ctx: Context, intro: str | None = None, **carry) -> list[Reply]:
    await ctx.goto(FLOW, "evidence", **carry)
    if ctx.incoming.can_send_files:
        text = _("Any evidence? Send a file or a link, or choose “No evidence”.")
    else:
        text = _("Any evidence? Send a photo or a link, or choose “No evidence”.")
    if intro:
        text = f"{intro}\n{text}"
    return [Reply(text, buttons=[[await ctx.choice(_("No evidence"), SKIP)]])]


async def _ask_plan(ctx: Context, groups, intro: str | None = None, **carry) -> list[Reply]:
    await ctx.goto(FLOW, "plan", **carry)
    text = _("Your agency has tasks in several plans. Which plan is the update for?")
    if intro:
        text = f"{intro}\n{text}"
    buttons = [
        [await ctx.choice(f"{plan_label(plan)} · {shorten(plan.title, 40)}", plan.id)]
        for plan, _tasks in groups
    ]
    return [Reply(text, buttons=buttons)]


async def start_update(ctx: Context, args: str) -> list[Reply]:
    groups, refusal = await _agency_groups(ctx)
    if refusal:
        return refusal
    if not groups:
        return [Reply(_("The plan assigns no task to your agency, so there is nothing to update."))]
    if not args:
        if len(groups) > 1:
            return await _ask_plan(ctx, groups)
        return await _ask_task(ctx, groups[0][1])
    return await _one_line(ctx, groups, args)


async def try_bare_update(ctx: Context, text: str) -> list[Reply] | None:
    """ "3 xong" typed without the command is an update too, when it clearly reads as one."""
    _plan, rest = _split_plan(text)
    line = parse_update_line(rest)
    if line.ref is None or line.status is None or line.status_unclear or ctx.member.agency_id is None:
        return None
    groups, refusal = await _agency_groups(ctx)
    if refusal or not groups:
        return None
    return await _one_line(ctx, groups, text)


async def _one_line(ctx: Context, groups, text: str) -> list[Reply]:
    reference, rest = _split_plan(text)
    line = parse_update_line(rest)
    carry = {"status": line.status, "percent": line.percent, "note": line.note or None}
    if reference is not None:
        named = _plans_matching(groups, reference)
        if not named:
            intro = _("Your agency has no tasks in a plan “{plan}” being followed.").format(plan=reference)
            return await (
                _ask_plan(ctx, groups, intro, **carry)
                if len(groups) > 1
                else _ask_task(ctx, groups[0][1], intro, **carry)
            )
        groups = named
    if line.ref is None:
        intro = _(
            "Start with the task's number, for example: /capnhat 3 hoàn thành Đã phát sóng 12 chương trình"
        )
        if len(groups) > 1:
            return await _ask_plan(ctx, groups, intro, **carry)
        return await _ask_task(ctx, groups[0][1], intro, plan_id=groups[0][0].id, **carry)
    found = [(plan, task) for plan, tasks in groups if (task := progress.find_task(tasks, line.ref))]
    if len(found) > 1:
        text = _("Task {ref} is in several of your plans. Which plan is the update for?").format(ref=line.ref)
        buttons = [
            [
                await ctx.button(
                    f"{plan_label(plan)}: {task.code} · {shorten(task.content, 40)}",
                    "update_in_plan",
                    task_id=task.id,
                    status=line.status,
                    percent=line.percent,
                    note=line.note,
                )
            ]
            for plan, task in found
        ]
        return [Reply(text, buttons=buttons)]
    task = found[0][1] if found else None
    if task is None:
        intro = _("Your agency has no task {ref}.").format(ref=line.ref)
        if len(groups) > 1:
            return await _ask_plan(ctx, groups, intro, **carry)
        return await _ask_task(ctx, groups[0][1], intro, plan_id=groups[0][0].id, **carry)
    if line.status is None:
        intro = (
            _("I could not read a status in “{text}”.").format(text=shorten(line.note, 60))
            if line.note
            else None
        )
        return await _ask_status(ctx, task, intro)
    evidence = _evidence_of(ctx, line.note)
    return await _save(
        ctx,
        task,
        status=line.status,
        percent=line.percent,
        note=line.note,
        evidence=evidence,
        evidence_name=_attachment_name(ctx),
        message_id=ctx.incoming.message_id,
    )


def _attachment_name(ctx: Context) -> str | None:
    attachment = ctx.incoming.attachment
    return attachment.filename if attachment is not None else None


def _evidence_of(ctx: Context, text: str) -> str | None:
    attachment = ctx.incoming.attachment
    if attachment is not None:
        return f"{ctx.incoming.platform}:{attachment.file_id}"
    return find_url(text or "")


async def update_in_plan_action(ctx: Context, payload: dict) -> list[Reply]:
    """The plan picked for a one-line update whose task reference fitted several plans."""
    groups, refusal = await _agency_groups(ctx)
    if refusal:
        return refusal
    task = next((t for _plan, tasks in groups for t in tasks if t.id == payload.get("task_id")), None)
    if task is None:
        return [Reply(_("That task is not one of your agency's tasks."))]
    if payload.get("status") is None:
        return await _ask_status(ctx, task)
    note = payload.get("note") or ""
    return await _save(
        ctx,
        task,
        status=payload["status"],
        percent=payload.get("percent"),
        note=note,
        evidence=find_url(note),
        message_id=None,
    )


async def _on_plan(ctx: Context, answer: Answer) -> list[Reply]:
    groups, refusal = await _agency_groups(ctx)
    if refusal:
        await ctx.end_flow()
        return refusal
    if answer.by_button:
        chosen = [(plan, tasks) for plan, tasks in groups if plan.id == answer.value]
    else:
        chosen = _plans_matching(groups, answer.text.strip())
    if len(chosen) != 1:
        intro = _("There is no plan “{text}” among yours.").format(text=shorten(answer.text, 30))
        return await _ask_plan(ctx, groups, intro)
    plan, tasks = chosen[0]
    return await _ask_task(ctx, tasks, plan_id=plan.id)


async def update_task_action(ctx: Context, payload: dict) -> list[Reply]:
    tasks, refusal = await _agency_tasks(ctx)
    if refusal:
        return refusal
    task = next((t for t in tasks if t.id == payload.get("task_id")), None)
    if task is None:
        return [Reply(_("That task is not one of your agency's tasks."))]
    return await _ask_status(ctx, task)


# ---------------------------------------------------------------- flow steps


async def _on_task(ctx: Context, answer: Answer) -> list[Reply]:
    tasks, refusal = await _agency_tasks(ctx)
    if refusal:
        await ctx.end_flow()
        return refusal
    task = None
    if answer.by_button:
        task = next((t for t in tasks if t.id == answer.value), None)
    else:
        ref = parse_task_ref(answer.text)
        task = progress.find_task(tasks, ref) if ref else None
    if task is None:
        intro = _("There is no task “{text}” in your list (1 to {count}).").format(
            text=shorten(answer.text, 30), count=len(tasks)
        )
        return await _ask_task(ctx, tasks, intro)
    data = ctx.flow_data
    if data.get("status"):
        # The one-line update only lacked a valid task: it is complete now.
        note = data.get("note") or ""
        return await _save(
            ctx,
            task,
            status=data["status"],
            percent=data.get("percent"),
            note=note,
            evidence=_evidence_of(ctx, note),
            evidence_name=_attachment_name(ctx),
            message_id=None,
        )
    return await _ask_status(ctx, task)


async def _current_task(ctx: Context) -> AssignedTask | Task | None:
    task_id = ctx.flow_data.get("task_id")
    if not isinstance(task_id, int):
        return None
    # A flow begun before a new plan was imported may still name a task of the old one.
    return await ctx.plan_task(task_id) or await ctx.session.get(Task, task_id)


async def _on_status(ctx: Context, answer: Answer) -> list[Reply]:
    task = await _current_task(ctx)
    if task is None:
        await ctx.end_flow()
        return [Reply(_("That task no longer exists. Send /capnhat to start again."))]
    if answer.by_button:
        line = UpdateLine(ref=None, status=answer.value, percent=None, note="")
    else:
        line = parse_update_line(answer.text)
        if line.ref is not None and line.status is None:
            line = None
    if line is None or line.status is None or line.status_unclear:
        choices = ", ".join(reported_label(status) for status in UPDATE_STATUSES)
        intro = _("I could not read a status there. The statuses are: {choices}.").format(choices=choices)
        return await _ask_status(ctx, task, intro)
    if line.percent is not None and not 0 <= line.percent <= 100:
        intro = _("A percentage must be between 0 and 100, not {percent}%.").format(percent=line.percent)
        return await _ask_status(ctx, task, intro)
    carry = {"status": line.status, "percent": line.percent}
    if line.note:
        return await _take_note(ctx, line.note, carry)
    return await _ask_note(ctx, **carry)


async def _take_note(ctx: Context, note: str, carry: dict) -> list[Reply]:
    try:
        progress.check(carry.get("status") or ctx.flow_data.get("status"), None, note)
    except progress.InvalidUpdate as error:
        await ctx.goto(FLOW, "note", **carry)
        return [Reply(_problem_text(error, _("Send the note again.")))]
    return await _ask_evidence(ctx, note=note, note_message_id=ctx.incoming.message_id, **carry)


async def _on_note(ctx: Context, answer: Answer) -> list[Reply]:
    if answer.by_button and answer.value == SKIP:
        return await _ask_evidence(ctx, note="", note_message_id=None)
    if answer.attachment is not None and not answer.text:
        # A file sent instead of a note: take it as the evidence and ask for the note still.
        await ctx.goto(
            FLOW,
            "note",
            evidence=f"{ctx.incoming.platform}:{answer.attachment.file_id}",
            evidence_name=answer.attachment.filename,
        )
        return await _ask_note(ctx)
    if not answer.text:
        return await _ask_note(ctx)
    return await _take_note(ctx, answer.text, {})


async def _on_evidence(ctx: Context, answer: Answer) -> list[Reply]:
    data = ctx.flow_data
    evidence, evidence_name = data.get("evidence"), data.get("evidence_name")
    if answer.by_button and answer.value == SKIP:
        pass
    elif answer.attachment is not None:
        evidence = f"{ctx.incoming.platform}:{answer.attachment.file_id}"
        evidence_name = answer.attachment.filename
    elif find_url(answer.text):
        evidence, evidence_name = find_url(answer.text), None
    else:
        return await _ask_evidence(ctx, _("That is neither a file nor a link."))
    task = await _current_task(ctx)
    if task is None:
        await ctx.end_flow()
        return [Reply(_("That task no longer exists. Send /capnhat to start again."))]
    return await _save(
        ctx,
        task,
        status=data["status"],
        percent=data.get("percent"),
        note=data.get("note") or "",
        evidence=evidence,
        evidence_name=evidence_name,
        message_id=data.get("note_message_id"),
    )


UPDATE_FLOW = Flow(
    name=FLOW,
    command="/capnhat",
    steps={
        "plan": Step(_on_plan),
        "task": Step(_on_task),
        "status": Step(_on_status),
        "note": Step(_on_note, free_text=True),
        "evidence": Step(_on_evidence, free_text=True),
    },
)


# ---------------------------------------------------------------- storing


async def _save(
    ctx: Context,
    task: AssignedTask | Task,
    *,
    status: str,
    percent: int | None,
    note: str,
    evidence: str | None,
    message_id: str | None,
    evidence_name: str | None = None,
) -> list[Reply]:
    plan = await ctx.plan_by_id(task.plan_id) or await ctx.plan()
    cycle = ctx.cycle(plan)
    too_large = _over_the_file_limit(ctx, evidence)
    if too_large:
        # The platform said how big it is: refused now, in the reply, rather than found out by the
        # download later with nobody told. The update itself is kept.
        evidence = None
    try:
        row = await progress.record(
            ctx.session,
            task=task,
            member=ctx.member,
            agency_id=ctx.member.agency_id,
            status=status,
            percent=percent,
            note=note,
            evidence=evidence,
            cycle=cycle,
            source=progress.Source(ctx.incoming.platform, ctx.incoming.chat_id, message_id),
            now=ctx.now,
        )
    except progress.InvalidUpdate as error:
        return [Reply(_problem_text(error, _("Nothing was saved.")))]
    if evidence_store.names_a_file(evidence):
        kept = await evidence_store.add_pending(
            ctx.session, row, source=evidence, original_name=evidence_name, now=ctx.now
        )
        app = ctx.app
        # Fetched once the update is committed: a slow or failed download never holds or loses it.
        ctx.when_committed(lambda: fetch_soon(app, [kept.id]))
    await ctx.end_flow()
    text = _confirmation(
        task,
        status,
        percent,
        note,
        _evidence_shown(evidence, evidence_name),
        cycle,
        can_edit=ctx.incoming.can_edit,
    )
    if too_large:
        text += "\n" + _(
            "The file {name} is larger than the {limit:g} MB allowed and was not kept: send a smaller file "
            "or a link to it."
        ).format(
            name=evidence_name or _("a file"), limit=file_limit_mb(ctx.app.config, ctx.incoming.platform)
        )
    return [Reply(text)]


def _over_the_file_limit(ctx: Context, evidence: str | None) -> bool:
    """The file of this message is declared (by its platform) larger than a file may be."""
    attachment = ctx.incoming.attachment
    if not evidence_store.names_a_file(evidence) or attachment is None or attachment.size is None:
        return False
    return attachment.size > file_limit_mb(ctx.app.config, ctx.incoming.platform) * MB


def _evidence_shown(evidence: str | None, name: str | None) -> str | None:
    """A link as it is; a file by the name it came with (a platform's id means nothing to people)."""
    if not evidence_store.names_a_file(evidence):
        return evidence
    return name or _("a file")


def _confirmation(
    task: AssignedTask | Task,
    status: str,
    percent: int | None,
    note: str,
    evidence: str | None,
    cycle,
    *,
    can_edit: bool = True,
) -> str:
    state = reported_label(status)
    if percent is not None:
        state += f" ({percent}%)"
    lines = [
        _("Saved: task {code} — {status}.").format(code=task.code, status=state),
        _("It counts towards the report due {day}.").format(day=format_day(cycle)),
    ]
    if note:
        lines.append(_("Note: {note}").format(note=shorten(note, 300)))
    if evidence:
        lines.append(_("Evidence: {evidence}").format(evidence=evidence))
    if can_edit:
        lines.append(_("To correct it, edit your message or send a new update."))
    else:
        lines.append(_("To correct it, send a new update."))
    return "\n".join(lines)


# ---------------------------------------------------------------- edits


async def on_edited_message(ctx: Context) -> list[Reply]:
    """An edited chat message that reported an update edits that update; the old text is kept."""
    incoming = ctx.incoming
    if not incoming.message_id:
        return []
    row = await people.update_from_message(
        ctx.session, platform=incoming.platform, chat_id=incoming.chat_id, message_id=incoming.message_id
    )
    if row is None:
        # An edit of a message that stored nothing changes nothing.
        return []
    if row.member_id != ctx.member.id or row.agency_id != ctx.member.agency_id:
        return [Reply(_("Only the person who sent an update can change it."))]
    from bot.core.router import find_command

    match = find_command(incoming.text or "")
    if match is not None and match.command.name == "capnhat":
        line = parse_update_line(match.args)
        if line.status is None or line.status_unclear:
            return [Reply(_("I could not read a status in the edited message, so the update is unchanged."))]
        status, percent, note = line.status, line.percent, line.note
    else:
        # The message was the note of a guided update: only the note changes.
        status, percent, note = row.status, row.percent, (incoming.text or "").strip()
    try:
        await progress.revise(ctx.session, row, status=status, percent=percent, note=note, now=ctx.now)
    except progress.InvalidUpdate as error:
        return [Reply(_problem_text(error, _("The update is unchanged.")))]
    task = row.task
    return [
        Reply(
            _("Updated task {code}: {status}. The earlier wording is kept in the history.").format(
                code=task.code,
                status=reported_label(status) + (f" ({percent}%)" if percent is not None else ""),
            )
        )
    ]
