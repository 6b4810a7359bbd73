"""`nhacviec invite create|list|revoke` and `nhacviec members list`, run as the command line runs
them, on a real SQLite file."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from bot.app import App
from bot.cli import main
from bot.config import load_config
from bot.core.service import Core
from storage.db import Database
from tests.bot.core.chat import ChatUser
from tests.factories import make_plan


@pytest.fixture
def database(tmp_path, sqlite_template, monkeypatch) -> str:
    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite+aiosqlite:///{path}"

    async def seed():
        db = Database(url)
        async with db.transaction() as session:
            await make_plan(session)
        await db.dispose()

    asyncio.run(seed())
    for name in ("NHACVIEC_CONFIG", "NHACVIEC_DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return url


def _run(url: str, *args: str, lang: str = "en") -> int:
    return main(["--db", url, "--lang", lang, *args])


def _start(url: str, user: str, token: str) -> str:
    async def chat():
        db = Database(url)
        try:
            core = Core(App(config=load_config(env={}), db=db))
            return await ChatUser(core, user, language_hint="en").say(f"/start {token}")
        finally:
            await db.dispose()

    return asyncio.run(chat())


def _code(output: str) -> str:
    return next(line.split("/start ")[1] for line in output.splitlines() if "/start " in line)


def test_the_first_coordinator_is_invited_from_the_command_line(database, capsys, monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    code = _run(database, "invite", "create", "--role", "coordinator")
    output = capsys.readouterr().out
    token = _code(output)

    welcome = _start(database, "an", token)

    assert code == 0
    assert f"Telegram:  https://t.me/nhacviec_bot?start={token}" in output
    assert f"Any chat:  /start {token}" in output
    assert welcome.startswith("Welcome, An! You are now registered as coordinator.")


def test_a_focal_point_invite_names_its_agency_in_any_spelling(database, capsys):
    code = _run(database, "invite", "create", "--agency", "so du lich", "--role", "focal", "--expires", "48h")
    output = capsys.readouterr().out

    welcome = _start(database, "lan", _code(output))

    assert code == 0
    assert output.startswith("Invite #1: focal point for Sở Du lịch, 1 use, valid until 2")
    assert "focal point for Sở Du lịch" in welcome


def test_without_a_telegram_bot_an_invite_shows_only_the_code_to_send(database, capsys, monkeypatch):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)

    code = _run(database, "invite", "create", "--role", "coordinator")
    output = capsys.readouterr().out

    assert code == 0
    assert "t.me" not in output
    assert f"Any chat:  /start {_code(output)}" in output


def test_the_command_line_speaks_the_deployment_language_unless_told_otherwise(database, capsys):
    main(["--db", database, "invite", "create", "--agency", "so du lich"])
    vietnamese = capsys.readouterr().out
    main(["--db", database, "invite", "list"])
    listing = capsys.readouterr().out
    main(["--db", database, "members", "list"])
    members = capsys.readouterr().out
    main(["--db", database, "reminders", "status"])
    status = capsys.readouterr().out
    main(["--db", database, "--lang", "en", "invite", "list"])
    english = capsys.readouterr().out

    assert vietnamese.startswith("Lời mời #1: đầu mối của Sở Du lịch, dùng được 1 lần, hiệu lực đến ")
    assert "Mã chỉ hiện một lần này; hệ thống chỉ lưu bản băm của mã." in vietnamese
    assert listing.splitlines()[1].split()[:4] == ["1", "đầu", "mối", "1"]
    assert listing.splitlines()[0].split() == [
        "#",
        "vai",
        "trò",
        "số",
        "lần",
        "hết",
        "hạn",
        "trạng",
        "thái",
        "cơ",
        "quan",
    ]
    assert "dùng được" in listing
    assert members.startswith("Chưa có thành viên nào.")
    assert status.startswith("Kế hoạch 87/KH-UBND: chưa lên lịch lời nhắc nào")
    assert english.splitlines()[1].split()[:4] == ["1", "focal", "point", "1"]


def test_an_unknown_agency_is_refused_with_the_closest_names(database, capsys):
    code = _run(database, "invite", "create", "--agency", "Sở Du")

    assert code == 1
    assert "no agency named 'Sở Du'. Did you mean: Sở Du lịch?" in capsys.readouterr().err


def test_a_focal_point_invite_without_an_agency_is_refused(database, capsys):
    code = _run(database, "invite", "create", "--role", "focal")

    assert code == 1
    assert "a focal point invite needs --agency NAME" in capsys.readouterr().err


def test_a_validity_that_is_no_duration_is_refused(database, capsys):
    code = _run(database, "invite", "create", "--role", "coordinator", "--expires", "soon")

    assert code == 1
    assert "--expires 'soon': give a duration such as 7d, 48h or 2w" in capsys.readouterr().err


def test_listing_invites_never_shows_a_code(database, capsys):
    _run(database, "invite", "create", "--role", "coordinator", "--uses", "3")
    token = _code(capsys.readouterr().out)

    code = _run(database, "invite", "list")
    listing = capsys.readouterr().out

    assert code == 0
    assert token not in listing
    assert listing.splitlines()[1].split()[:3] == ["1", "coordinator", "3"]


def test_a_revoked_invite_no_longer_registers_anyone(database, capsys):
    _run(database, "invite", "create", "--role", "coordinator")
    token = _code(capsys.readouterr().out)

    code = _run(database, "invite", "revoke", "1")
    capsys.readouterr()
    _run(database, "invite", "list", "--all")
    listing = capsys.readouterr().out
    refused = _start(database, "an", token)

    assert code == 0
    assert "revoked" in listing.splitlines()[1]
    assert refused.startswith("This invite was withdrawn.")


def test_members_list_shows_who_is_registered_where(database, capsys):
    _run(database, "invite", "create", "--agency", "Sở Du lịch")
    _start(database, "lan", _code(capsys.readouterr().out))

    code = _run(database, "members", "list", "--json")
    rows = json.loads(capsys.readouterr().out)

    assert code == 0
    expected = [
        {
            "id": 1,
            "name": "Lan",
            "role": "focal",
            "agency": "Sở Du lịch",
            "status": "active",
            "language": "en",
            "platforms": ["console"],
            "reachable": True,
        }
    ]
    assert rows == expected


def _phone_on_file(url: str) -> tuple:
    async def read():
        db = Database(url)
        try:
            async with db.snapshot() as session:
                from storage.models.people import Member

                member = await session.get(Member, 1)
                return member.phone, member.phone_consent_at is not None
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_an_admin_records_a_members_phone_number_for_zns_with_their_consent(database, capsys):
    _run(database, "invite", "create", "--agency", "Sở Du lịch")
    _start(database, "lan", _code(capsys.readouterr().out))

    code = _run(database, "members", "phone", "1", "091 234 5678", "--consent-given")

    assert code == 0
    assert capsys.readouterr().out.strip() == "Lan: ZNS number 84912345678"
    assert _phone_on_file(database) == ("84912345678", True)


@pytest.mark.parametrize(
    "args, expected",
    [
        (["0912345678"], "add --consent-given"),
        (["12345", "--consent-given"], "is not a Vietnamese mobile number"),
        ([], "give either a phone number"),
    ],
)
def test_a_phone_number_without_consent_or_malformed_is_refused(database, capsys, args, expected):
    _run(database, "invite", "create", "--agency", "Sở Du lịch")
    _start(database, "lan", _code(capsys.readouterr().out))

    code = _run(database, "members", "phone", "1", *args)

    assert code != 0
    assert expected in capsys.readouterr().err
    assert _phone_on_file(database) == (None, False)


def test_a_phone_number_is_forgotten_on_request(database, capsys):
    _run(database, "invite", "create", "--agency", "Sở Du lịch")
    _start(database, "lan", _code(capsys.readouterr().out))
    _run(database, "members", "phone", "1", "+84912345678", "--consent-given")

    code = _run(database, "members", "phone", "1", "--clear")

    assert code == 0
    assert _phone_on_file(database) == (None, False)


@pytest.mark.parametrize("role", ["focal", "coordinator", "admin"])
@pytest.mark.parametrize("agency", [None, "Sở TTTT"])
def test_every_role_with_and_without_an_agency_registers_from_a_command_line_invite(
    database, capsys, role, agency
):
    options = ["--role", role] + (["--agency", agency] if agency else [])

    code = _run(database, "invite", "create", *options)
    output = capsys.readouterr()

    if role == "focal" and agency is None:
        assert code == 1
        assert "a focal point invite needs --agency NAME" in output.err
        return
    welcome = _start(database, "an", _code(output.out))
    _run(database, "members", "list", "--json")
    rows = json.loads(capsys.readouterr().out)

    assert code == 0
    # A coordinator or admin keeps the agency they were invited for: it is where they work, shown
    # beside their role; their rights still cover every agency.
    expected_agency = "Sở Thông tin và Truyền thông" if agency else None
    expected_role = {"focal": "focal point", "coordinator": "coordinator", "admin": "administrator"}[role]
    expected_welcome = (
        f"Welcome, An! You are now registered as {expected_role} for {expected_agency}."
        if agency
        else f"Welcome, An! You are now registered as {expected_role}."
    )
    assert welcome.startswith(expected_welcome)
    assert [(row["name"], row["role"], row["agency"], row["status"]) for row in rows] == [
        ("An", role, expected_agency, "active")
    ]


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("vi", "lược đồ đã mới nhất ({head})"), ("en", "schema up to date ({head})")],
)
def test_db_upgrade_answers_in_the_language_asked(database, capsys, lang, expected):
    from storage.migrate import head_revision

    code = _run(database, "db", "upgrade", lang=lang)

    assert code == 0
    assert capsys.readouterr().out.strip() == expected.format(head=head_revision())


def _roles(url: str) -> list[tuple[str, str, str]]:
    async def read():
        db = Database(url)
        try:
            async with db.snapshot() as session:
                from storage import people

                return [(m.name, m.role, m.status) for m in await people.list_members(session)]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_the_command_line_changes_a_role_with_the_chats_rules(database, capsys):
    _run(database, "invite", "create", "--role", "admin")
    _start(database, "binh", _code(capsys.readouterr().out))
    _run(database, "invite", "create", "--role", "coordinator")
    _start(database, "an", _code(capsys.readouterr().out))
    capsys.readouterr()

    promoted = _run(database, "members", "role", "2", "admin")
    said = capsys.readouterr().out
    demoted = _run(database, "members", "role", "1", "coordinator")
    refused = _run(database, "members", "role", "2", "coordinator")
    error = capsys.readouterr().err

    assert (promoted, demoted, refused) == (0, 0, 1)
    # An chats on the console, which no command line can write to: the operator is told to tell her.
    assert said.splitlines() == [
        "An: coordinator → administrator",
        "Could not tell them on console for now; tell them yourself.",
    ]
    assert "the only administrator" in error
    assert sorted(_roles(database)) == [("An", "admin", "active"), ("Binh", "coordinator", "active")]
