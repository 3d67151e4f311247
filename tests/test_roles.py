"""Who may do what: each role signs in and walks the admin and the agent console.

Agents work cases and tickets in the console and have no admin at all; support admins
keep the knowledge in the admin and never see tickets; superusers see everything, but
records (diagnoses, tickets) change only through the console, never the admin.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from wizard.models import Cause, Diagnosis, KnowledgeRevision, Solution, Ticket

PASSWORD = "tea-kettle-lantern-harbour-58"
ROLES = ("anonymous", "agent", "support-admin", "superuser")


def create_account(username: str, *roles: str, password: str = PASSWORD) -> str:
    out = io.StringIO()
    arguments = [item for role in roles for item in ("--role", role)]
    call_command(
        "create_account",
        username,
        *arguments,
        "--password-stdin",
        stdin=io.StringIO(password + "\n"),
        stdout=out,
    )
    return out.getvalue()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # Each test makes accounts; the production hasher takes a good part of a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def case(seeded) -> Diagnosis:
    return Diagnosis.objects.create(
        revision=KnowledgeRevision.objects.latest(), notes="caller prefers mornings", phone="+8613800138000"
    )


@pytest.fixture
def ticket(case) -> Ticket:
    return Ticket.objects.create(diagnosis=case, name="王老板", phone="+8613800138000", has_consent=True)


@pytest.fixture
def sign_in(client, seeded):
    """Sign the test client in as one of ROLES (anonymous: nobody)."""

    def as_role(role: str):
        if role != "anonymous":
            create_account(f"user.{role}", role)
            client.force_login(get_user_model().objects.get(username=f"user.{role}"))
        return client

    return as_role


# --- Findings ----------------------------------------------------------------------------


def test_an_agent_made_by_the_local_accounts_command_is_not_staff(db):
    call_command("create_local_accounts", stdout=io.StringIO())
    agent = get_user_model().objects.get(username="agent")
    assert not agent.is_staff and not agent.is_superuser


def test_a_staff_member_who_may_only_view_cannot_revert_from_the_history(client, seeded, django_user_model):
    solution = Solution.objects.order_by("pk").first()
    original = solution.title_zh_hans
    solution.title_zh_hans = "新标题"
    solution.save()
    first = solution.history.order_by("history_date").first()
    viewer = django_user_model.objects.create_user("viewer", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_solution"))
    client.force_login(viewer)
    url = reverse("admin:wizard_solution_simple_history", args=[solution.pk, first.history_id])
    page = client.get(url)
    assert page.status_code == 200  # looking at an old version is fine
    assert 'name="_save"' not in page.content.decode()
    form = {k: v for k, v in page.context["adminform"].form.initial.items() if v is not None}
    assert form["title_zh_hans"] == original
    form["contexts"] = [context.pk for context in form.get("contexts", [])]
    assert client.post(url, form).status_code == 403  # the old version, "reverted" by a viewer
    assert client.post(url, {**form, "title_zh_hans": "viewer was here"}).status_code == 403
    solution.refresh_from_db()
    assert solution.title_zh_hans == "新标题"


def test_no_one_changes_a_ticket_in_the_admin_not_even_a_superuser(client, ticket, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root.user"))
    url = reverse("admin:wizard_ticket_change", args=[ticket.pk])
    page = client.get(url)
    assert page.status_code == 200  # read-only
    assert 'name="_save"' not in page.content.decode()
    response = client.post(url, {"name": "someone else", "phone": "+8613912345678", "status": "closed"})
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert (ticket.name, ticket.status) == ("王老板", Ticket.Status.OPEN)


# --- Each role walks the site -------------------------------------------------------------

ALLOWED, LOGIN, REFUSED = "allowed", "login", "refused"


def admin_url(name: str, *args) -> str:
    return reverse(f"admin:{name}", args=args)


# (method, url, data) built from the test's objects, then what each role gets. "login" is
# a redirect to a sign-in page (the agent's for the console, the admin's for the admin):
# an agent signed in is sent there too by the admin, which is not theirs.
WALK = {
    "admin index": (lambda o: ("get", admin_url("index"), None), (LOGIN, LOGIN, ALLOWED, ALLOWED)),
    "content list": (
        lambda o: ("get", admin_url("wizard_cause_changelist"), None),
        (LOGIN, LOGIN, ALLOWED, ALLOWED),
    ),
    "content change page": (
        lambda o: ("get", admin_url("wizard_cause_change", o["cause"].pk), None),
        (LOGIN, LOGIN, ALLOWED, ALLOWED),
    ),
    "content change": (
        lambda o: ("post", admin_url("wizard_cause_change", o["cause"].pk), {"title_zh_hans": "改了"}),
        (LOGIN, LOGIN, ALLOWED, ALLOWED),
    ),
    "content delete": (
        lambda o: ("post", admin_url("wizard_cause_delete", o["cause"].pk), {"post": "yes"}),
        (LOGIN, LOGIN, ALLOWED, ALLOWED),
    ),
    "history revert": (
        lambda o: ("post", admin_url("wizard_cause_simple_history", o["cause"].pk, o["version"]), {}),
        (LOGIN, LOGIN, ALLOWED, ALLOWED),
    ),
    "publish": (lambda o: ("get", admin_url("wizard_publish"), None), (LOGIN, LOGIN, ALLOWED, ALLOWED)),
    "accounts": (
        lambda o: ("get", admin_url("auth_user_changelist"), None),
        (LOGIN, LOGIN, REFUSED, ALLOWED),
    ),
    "diagnosis list": (
        lambda o: ("get", admin_url("wizard_diagnosis_changelist"), None),
        (LOGIN, LOGIN, ALLOWED, ALLOWED),
    ),
    "diagnosis change": (
        lambda o: ("post", admin_url("wizard_diagnosis_change", o["case"].pk), {"status": "resolved"}),
        (LOGIN, LOGIN, REFUSED, REFUSED),
    ),
    "diagnosis delete": (
        lambda o: ("post", admin_url("wizard_diagnosis_delete", o["case"].pk), {"post": "yes"}),
        (LOGIN, LOGIN, REFUSED, REFUSED),
    ),
    "ticket list": (
        lambda o: ("get", admin_url("wizard_ticket_changelist"), None),
        (LOGIN, LOGIN, REFUSED, ALLOWED),
    ),
    "ticket page": (
        lambda o: ("get", admin_url("wizard_ticket_change", o["ticket"].pk), None),
        (LOGIN, LOGIN, REFUSED, ALLOWED),
    ),
    "ticket change": (
        lambda o: ("post", admin_url("wizard_ticket_change", o["ticket"].pk), {"status": "closed"}),
        (LOGIN, LOGIN, REFUSED, REFUSED),
    ),
    "ticket add": (
        lambda o: ("post", admin_url("wizard_ticket_add"), {"name": "x", "diagnosis": o["case"].pk}),
        (LOGIN, LOGIN, REFUSED, REFUSED),
    ),
    "ticket delete": (
        lambda o: ("post", admin_url("wizard_ticket_delete", o["ticket"].pk), {"post": "yes"}),
        (LOGIN, LOGIN, REFUSED, REFUSED),
    ),
    "insights": (lambda o: ("get", reverse("wizard:insights"), None), (LOGIN, REFUSED, ALLOWED, ALLOWED)),
    "console": (lambda o: ("get", reverse("wizard:agent-home"), None), (LOGIN, ALLOWED, REFUSED, ALLOWED)),
    "console case": (
        lambda o: ("get", reverse("wizard:agent-case", args=[o["case"].code]), None),
        (LOGIN, ALLOWED, REFUSED, ALLOWED),
    ),
    "console notes": (
        lambda o: ("post", reverse("wizard:agent-notes", args=[o["case"].code]), {"notes": "called back"}),
        (LOGIN, ALLOWED, REFUSED, ALLOWED),
    ),
    "console ticket": (
        lambda o: ("get", reverse("wizard:agent-ticket", args=[o["ticket"].reference]), None),
        (LOGIN, ALLOWED, REFUSED, ALLOWED),
    ),
    "console ticket status": (
        lambda o: (
            "post",
            reverse("wizard:agent-ticket-status", args=[o["ticket"].reference]),
            {"status": "in-progress"},
        ),
        (LOGIN, ALLOWED, REFUSED, ALLOWED),
    ),
}


@pytest.fixture
def objects(case, ticket) -> dict:
    cause = Cause.objects.get(slug="network-problem")
    cause.title_zh_hans = "新标题"
    cause.save()
    return {
        "case": case,
        "ticket": ticket,
        "cause": cause,
        "version": cause.history.order_by("history_date").first().history_id,
    }


def outcome(response) -> str:
    if response.status_code in (200, 204, 303) or (
        response.status_code == 302 and "login" not in response["Location"]
    ):
        return ALLOWED
    if response.status_code == 302:
        return LOGIN
    assert response.status_code == 403, (response.status_code, response.content[:300])
    return REFUSED


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("step", WALK)
def test_each_role_gets_what_it_may_and_nothing_else(sign_in, objects, role, step):
    build, expected = WALK[step]
    method, url, data = build(objects)
    client = sign_in(role)
    response = getattr(client, method)(url, data or {})
    assert outcome(response) == expected[ROLES.index(role)], f"{role}: {method.upper()} {url}"
    if response.status_code == 302 and expected[ROLES.index(role)] == LOGIN:
        login = reverse("wizard:agent-login") if url.startswith("/agent/") else reverse("admin:login")
        assert response["Location"].startswith(login)


@pytest.mark.parametrize("role", ("anonymous", "agent", "support-admin"))
def test_refused_changes_change_nothing(sign_in, objects, role):
    client = sign_in(role)
    ticket, case = objects["ticket"], objects["case"]
    for step in ("ticket change", "ticket delete", "diagnosis change", "diagnosis delete"):
        method, url, data = WALK[step][0](objects)
        getattr(client, method)(url, data)
    if role != "agent":  # the console is the agent's to use
        for step in ("console notes", "console ticket status"):
            method, url, data = WALK[step][0](objects)
            getattr(client, method)(url, data)
    if role != "support-admin":  # content is the support admin's to change
        for step in ("content change", "content delete", "history revert"):
            method, url, data = WALK[step][0](objects)
            getattr(client, method)(url, data)
        assert Cause.objects.get(pk=objects["cause"].pk).title_zh_hans == "新标题"
    ticket.refresh_from_db()
    case.refresh_from_db()
    assert (ticket.status, case.status, case.notes) == ("open", "in-progress", "caller prefers mornings")


def test_a_support_admin_sees_a_diagnosis_but_not_the_agent_notes(sign_in, objects):
    client = sign_in("support-admin")
    page = client.get(admin_url("wizard_diagnosis_change", objects["case"].pk))
    assert page.status_code == 200
    assert "caller prefers mornings" not in page.content.decode()
    assert 'name="_save"' not in page.content.decode()


def test_an_agent_cannot_sign_in_to_the_admin(client, seeded):
    create_account("li.wei", "agent")
    page = client.post(reverse("admin:login"), {"username": "li.wei", "password": PASSWORD})
    assert page.status_code == 200 and page.context["form"].errors
    assert client.get(admin_url("index")).status_code == 302
    console = client.post(reverse("wizard:agent-login"), {"username": "li.wei", "password": PASSWORD})
    assert console.status_code == 302 and console["Location"] == reverse("wizard:agent-home")


def test_existing_staff_agents_stop_being_staff_when_migrated(db, django_user_model):
    from importlib import import_module

    from django.apps import apps
    from django.contrib.auth.models import Group

    migration = import_module("wizard.migrations.0004_agents_are_not_staff")
    agents, admins = Group.objects.get(name="Agents"), Group.objects.get(name="Support admins")
    agent = django_user_model.objects.create_user("old.agent", is_staff=True)
    agent.groups.add(agents)
    both = django_user_model.objects.create_user("old.both", is_staff=True)
    both.groups.add(agents, admins)
    boss = django_user_model.objects.create_superuser("old.boss")
    boss.groups.add(agents)
    migration.agents_are_not_staff(apps, None)
    assert [
        u.is_staff for u in django_user_model.objects.filter(username__startswith="old.").order_by("username")
    ] == [
        False,
        True,
        True,
    ]


# --- Accounts: manage.py create_account ---------------------------------------------------


def test_create_account_makes_each_role(db):
    create_account("li.wei", "agent")
    create_account("zhang.min", "support-admin")
    create_account("root.admin", "superuser")
    create_account("chen.both", "agent", "support-admin")
    users = {user.username: user for user in get_user_model().objects.all()}
    flags = {
        name: (u.is_staff, u.is_superuser, {g.name for g in u.groups.all()}) for name, u in users.items()
    }
    assert flags == {
        "li.wei": (False, False, {"Agents"}),
        "zhang.min": (True, False, {"Support admins"}),
        "root.admin": (True, True, set()),
        "chen.both": (True, False, {"Agents", "Support admins"}),
    }
    assert all(user.check_password(PASSWORD) for user in users.values())
    assert users["li.wei"].has_perm("wizard.use_console") and not users["li.wei"].has_perm(
        "wizard.view_cause"
    )
    assert not users["zhang.min"].has_perm("wizard.use_console")
    assert not users["zhang.min"].has_perm("wizard.view_ticket")


def test_create_account_says_where_the_account_signs_in(db):
    assert "/agent/" in create_account("li.wei", "agent")
    assert "/admin/" in create_account("zhang.min", "support-admin")


def run_command_line(monkeypatch, *arguments: str, stdin: str = "") -> tuple[int, str]:
    """``manage.py create_account …`` as a script runs it: the exit status and standard error."""
    from django.core.management import ManagementUtility
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)  # the test's database stays open
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    errors = io.StringIO()
    monkeypatch.setattr("sys.stderr", errors)
    try:
        ManagementUtility(["manage.py", "create_account", *arguments]).execute()
    except SystemExit as stop:
        return stop.code, errors.getvalue()
    return 0, errors.getvalue()


def test_a_script_creates_an_account_from_standard_input(db, monkeypatch):
    status, _ = run_command_line(
        monkeypatch, "li.wei", "--role", "agent", "--password-stdin", stdin=PASSWORD + "\n"
    )
    assert status == 0
    assert get_user_model().objects.get(username="li.wei").check_password(PASSWORD)


def test_a_duplicate_is_refused_with_a_clear_message_and_a_failing_exit_status(db, monkeypatch):
    create_account("li.wei", "agent")
    for name in ("li.wei", "LI.WEI"):
        status, errors = run_command_line(
            monkeypatch, name, "--role", "superuser", "--password-stdin", stdin="another-long-passphrase-77\n"
        )
        assert status != 0
        assert "An account named 'li.wei' exists already; nothing was changed" in errors
    user = get_user_model().objects.get(username="li.wei")
    assert user.check_password(PASSWORD) and not user.is_superuser
    assert get_user_model().objects.count() == 1


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short1", "too short"),
        ("password123", "too common"),
        ("48213957604", "entirely numeric"),
        ("li.wei.li", "too similar to the username"),
        ("", "The password is empty"),
    ],
)
def test_a_weak_password_is_refused_by_the_password_validators(db, monkeypatch, password, reason):
    status, errors = run_command_line(
        monkeypatch, "li.wei", "--role", "agent", "--password-stdin", stdin=password
    )
    assert status != 0
    assert reason in errors
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("username", ["li wei", "a" * 151, "   ", "li/wei"])
def test_a_username_that_cannot_be_stored_is_refused(db, monkeypatch, username):
    status, errors = run_command_line(
        monkeypatch, username, "--role", "agent", "--password-stdin", stdin=PASSWORD
    )
    assert status != 0 and "was refused" in errors
    assert not get_user_model().objects.exists()


def test_without_a_terminal_the_password_must_come_from_standard_input(db, monkeypatch):
    status, errors = run_command_line(monkeypatch, "li.wei", "--role", "agent", stdin=PASSWORD)
    assert status != 0 and "--password-stdin" in errors
    assert not get_user_model().objects.exists()


def test_the_password_is_never_an_argument(db, monkeypatch):
    status, errors = run_command_line(monkeypatch, "li.wei", "--role", "agent", "--password", PASSWORD)
    assert status != 0 and "unrecognized arguments" in errors
    assert not get_user_model().objects.exists()


def test_a_role_is_required_and_must_be_known(db, monkeypatch):
    assert run_command_line(monkeypatch, "li.wei", "--password-stdin", stdin=PASSWORD)[0] != 0
    status, errors = run_command_line(
        monkeypatch, "li.wei", "--role", "admin", "--password-stdin", stdin=PASSWORD
    )
    assert status != 0 and "invalid choice: 'admin'" in errors
    assert not get_user_model().objects.exists()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_at_a_terminal_the_password_is_asked_twice(db, monkeypatch):
    typed = iter([PASSWORD, PASSWORD, PASSWORD, "something-else-entirely-31"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(typed))
    call_command("create_account", "li.wei", "--role", "agent", stdin=Terminal(), stdout=io.StringIO())
    assert get_user_model().objects.get(username="li.wei").check_password(PASSWORD)
    with pytest.raises(CommandError, match="The two passwords differ"):
        call_command("create_account", "zhang.min", "--role", "agent", stdin=Terminal(), stdout=io.StringIO())
    assert not get_user_model().objects.filter(username="zhang.min").exists()


def test_local_accounts_are_one_per_role_and_never_made_in_production(db, settings):
    call_command("create_local_accounts", stdout=io.StringIO())
    users = get_user_model().objects.order_by("username")
    assert [(u.username, u.is_staff, u.is_superuser) for u in users] == [
        ("admin", True, True),
        ("agent", False, False),
        ("support", True, False),
    ]
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="create_account"):
        call_command("create_local_accounts", stdout=io.StringIO())
