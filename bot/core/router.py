"""Every command word, button action and guided flow, and who may use each: the one place to read.

Commands are Vietnamese with English aliases; they match ignoring case and diacritics, with or
without the slash and spaces ("/capnhat", "cap nhat", "/update").
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.core.context import UNREGISTERED, Context
from bot.core.flows import Flow
from bot.core.handlers import (
    agencies,
    exports,
    guide,
    history,
    linking,
    onboarding,
    overview,
    phone,
    plans,
    roles,
    settings,
    tasks,
    updates,
    web,
)
from bot.core.messages import Reply
from bot.i18n import N_, _
from storage.models.people import ADMIN, COORDINATOR, FOCAL
from storage.text import fold_word

EVERYONE = frozenset({UNREGISTERED, FOCAL, COORDINATOR, ADMIN})
MEMBERS = frozenset({FOCAL, COORDINATOR, ADMIN})
STAFF = frozenset({COORDINATOR, ADMIN})
ADMINS = frozenset({ADMIN})
ONLY_UNREGISTERED = frozenset({UNREGISTERED})

CommandHandler = Callable[[Context, str], Awaitable[list[Reply]]]
ActionHandler = Callable[[Context, dict], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Command:
    name: str
    aliases: tuple[str, ...]
    handler: CommandHandler
    roles: frozenset[str]
    help: str  # marked with N_, translated where the help is shown
    usage: str = ""  # marked with N_ where it holds words
    # Listed in /trogiup for these roles (default: everyone allowed); registering is not news to members.
    listed: frozenset[str] | None = None
    # Words such as "cơ quan" begin ordinary sentences: such a command runs only when typed with "/".
    needs_slash: bool = False
    # Acts on one plan: named first in the arguments, the only active one, or picked from buttons
    # (bot.core.handlers.plans.pick_plan) before the handler runs.
    per_plan: bool = False
    # What it shows is one person's (a sign-in link, their phone number, members' roles): in a group
    # it says so and points to a private chat instead of running (N_-marked, translated when shown).
    private_only: str | None = None

    def listed_for(self, role: str) -> bool:
        return role in (self.listed if self.listed is not None else self.roles)


# fmt: off
COMMANDS: tuple[Command, ...] = (
    Command("start", ("batdau",), onboarding.start, EVERYONE, N_("register with an invite code"), N_(" <code>"), ONLY_UNREGISTERED),
    Command("dangky", ("register", "dang ky"), onboarding.register, EVERYONE, N_("ask to join as your agency's focal point"), listed=ONLY_UNREGISTERED),
    Command("trogiup", ("help", "tro giup"), guide.show_help, EVERYONE, N_("what you can do here")),
    Command("nhiemvu", ("tasks", "nhiem vu"), tasks.list_tasks, MEMBERS, N_("your agency's tasks, their status and last update")),
    Command("capnhat", ("update", "cap nhat"), updates.start_update, MEMBERS, N_("report progress on a task"), N_(" [3 done <note>]")),
    Command("lich", ("deadlines", "han"), tasks.deadlines, MEMBERS, N_("reporting deadlines and tasks falling due")),
    Command("lichsu", ("history", "lich su"), history.task_history_command, MEMBERS, N_("every update of a task, newest first"), N_(" <task, e.g. I.4>")),
    Command("tonghop", ("summary", "tong hop"), overview.summary, STAFF, N_("the reporting cycle at a glance"), N_(" [plan]"), per_plan=True),
    Command("donvi", ("agency", "don vi"), history.agency_command, STAFF, N_("one agency: its tasks, what it said, its focal points"), N_(" <agency>")),
    Command("chuabaocao", ("missing", "chua bao cao"), overview.missing, STAFF, N_("agencies and tasks with no update this cycle"), N_(" [plan]"), per_plan=True),
    Command("nhacnho", ("remind", "nhac nho"), overview.remind, STAFF, N_("remind those who have not reported, now"), N_(" [plan] [agency]"), per_plan=True),
    Command("xuat", ("export", "xuat file", "xuat bao cao"), exports.export, STAFF, N_("the cycle's report as a Word (docx) or Excel (xlsx) file"), N_(" [plan] [docx|xlsx|csv] [previous|20/6]"), per_plan=True),
    Command("kehoach", ("plans", "ke hoach"), plans.show_plans, MEMBERS, N_("the plans, their status and progress; coordinators close or reopen them")),
    Command("moi", ("invite", "loi moi"), onboarding.invite, STAFF, N_("create an invite link"), N_(" [agency]")),
    Command("choduyet", ("pending", "cho duyet"), onboarding.pending, STAFF, N_("registration requests waiting for approval")),
    Command("ngonngu", ("lang", "language", "ngon ngu"), settings.language, EVERYONE, N_("choose Vietnamese or English"), " [vi|en]"),
    Command("huy", ("cancel", "thoat"), settings.cancel, EVERYONE, N_("leave what you are doing")),
    Command("lienket", ("link", "lien ket"), linking.link, EVERYONE, N_("link your account on another platform (Telegram, Zalo)"), N_(" [code]")),
    Command("kenh", ("channel", "kenh nhan"), linking.channel, MEMBERS, N_("choose where reminders reach you first"), " [telegram|zalo]"),
    Command("coquan", ("agencies",), agencies.registry_command, ADMINS, N_("the agency registry: add, rename, merge, groups"), N_(" list|show|add|rename|merge|alias|dissolve|group …"), needs_slash=True),
    Command("sodienthoai", ("phone", "so dien thoai", "sdt"), phone.phone_command, MEMBERS, N_("your mobile number for Zalo notifications: see, change or delete it"), N_(" [xoa]"), private_only=N_("Your phone number is only shown in a private chat: write /sodienthoai to me there.")),
    Command("vaitro", ("role", "vai tro"), roles.role_command, ADMINS, N_("change a member's role (focal point, coordinator, administrator)"), N_(" [name]"), private_only=N_("Roles are changed in a private chat, not in front of the group: write /vaitro to me there.")),
    Command("web", ("dashboard", "trang web"), web.sign_in_link, MEMBERS, N_("a link that signs you in to the web dashboard"), private_only=N_("For your safety the sign-in link is only sent in a private chat: write /web to me there.")),
)
# fmt: on

CANCEL = "huy"
ANSWER = "answer"  # the action of a button that answers a flow's question


@dataclass(frozen=True)
class Action:
    handler: ActionHandler
    roles: frozenset[str]


# What a button (or a numbered answer) does. The payload comes from the database, never from the user.
ACTIONS: dict[str, Action] = {
    "answer": Action(settings.answer_flow, EVERYONE),
    "approve": Action(onboarding.approve, STAFF),
    "reject": Action(onboarding.reject, STAFF),
    "page": Action(overview.page, STAFF),
    "agency_tasks": Action(tasks.agency_tasks_action, STAFF),
    "summary_agencies": Action(overview.agency_choice, STAFF),
    "agency_overview": Action(history.agency_overview_action, STAFF),
    "export": Action(exports.export_action, STAFF),
    "tasks_page": Action(tasks.tasks_page, MEMBERS),
    "lang": Action(settings.set_language_action, EVERYONE),
    "set_channel": Action(linking.set_channel_action, MEMBERS),
    "update_task": Action(updates.update_task_action, MEMBERS),
    # Only the web dashboard's forms run these two (chat issues invites through the /moi flow).
    "issue_invite": Action(onboarding.issue_invite_action, STAFF),
    "revoke_invite": Action(onboarding.revoke_invite_action, STAFF),
    "update_in_plan": Action(updates.update_in_plan_action, MEMBERS),
    "plan_close": Action(plans.close_action, STAFF),
    "plan_reopen": Action(plans.reopen_action, STAFF),
    plans.MORE_ACTION: Action(plans.more_action, MEMBERS),
    "phone_change": Action(phone.change_action, MEMBERS),
    "phone_withdraw": Action(phone.withdraw_action, MEMBERS),
}


async def run_for_plan(ctx: Context, payload: dict) -> list[Reply]:
    """A plan picked from the buttons a per-plan command showed: run that command on it."""
    command = next((c for c in COMMANDS if c.name == payload.get("command") and c.per_plan), None)
    plan = await ctx.plan_by_id(payload.get("plan_id"))
    if command is None:
        return [Reply(_("That button is no longer valid. Send /trogiup to see what you can do."))]
    if plan is None:
        # A plan removed since the button was shown, or none named (the dashboard's forms).
        return [Reply(_("That plan no longer exists."))]
    if ctx.role not in command.roles:
        return [Reply(_("You may not do that any more. Send /trogiup to see what you can do."))]
    ctx.use_plan(plan)
    return await command.handler(ctx, str(payload.get("args") or ""))


ACTIONS[plans.PICK_ACTION] = Action(run_for_plan, STAFF)

FLOWS: dict[str, Flow] = {
    flow.name: flow
    for flow in (
        updates.UPDATE_FLOW,
        onboarding.REGISTER_FLOW,
        onboarding.INVITE_FLOW,
        phone.PHONE_FLOW,
        roles.ROLE_FLOW,
    )
}
# Who may go on with each flow: checked at every step and every answer button, not only at the
# command that started it (a focal point retired by a hand-over mid-flow files nothing).
FLOW_ROLES: dict[str, frozenset[str]] = {
    updates.UPDATE_FLOW.name: MEMBERS,
    onboarding.REGISTER_FLOW.name: ONLY_UNREGISTERED,
    onboarding.INVITE_FLOW.name: STAFF,
    # A member waiting for approval is asked too (the step checks they are active or pending).
    phone.PHONE_FLOW.name: EVERYONE,
    roles.ROLE_FLOW.name: ADMINS,
}


def _compact(word: str) -> str:
    return fold_word(word).replace(" ", "")


_INDEX: dict[str, Command] = {}
for _command in COMMANDS:
    for _word in (_command.name, *_command.aliases):
        _INDEX[_compact(_word)] = _command


@dataclass(frozen=True)
class Match:
    command: Command
    args: str
    explicit: bool  # typed with a slash


BOT_SUFFIX = re.compile(r"@\w+$")


def find_command(text: str) -> Match | None:
    """The command `text` starts with, and the rest of it as typed; None when it names none."""
    stripped = text.strip()
    explicit = stripped.startswith("/")
    body = stripped.lstrip("/")
    words = body.split()
    if not words:
        return None
    # Telegram appends the bot's name in groups: "/capnhat@nhacviec_bot".
    words[0] = BOT_SUFFIX.sub("", words[0])
    for count in (3, 2, 1):
        if len(words) < count:
            continue
        command = _INDEX.get("".join(_compact(word) for word in words[:count]))
        if command is not None:
            parts = body.split(None, count)
            if command.needs_slash and not explicit:
                return None
            return Match(command, parts[count].strip() if len(parts) > count else "", explicit)
    return None


def command_named(name: str) -> Command:
    return next(command for command in COMMANDS if command.name == name)
