"""Create a named account with its role(s): how accounts are made in production.

The password is asked for at the terminal (twice), or read from the first line of
standard input with ``--password-stdin`` for scripts; never taken as an argument, where
it would stay in the shell history and show in the process list.
"""

import getpass
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import translation

from wizard import roles

WHERE = {
    roles.AGENT: "the agent console, /agent/",
    roles.SUPPORT_ADMIN: "the admin, /admin/",
    roles.SUPERUSER: "the admin, /admin/",
}


class Command(BaseCommand):
    help = (
        "Create an account: an agent (works cases in /agent/, no admin), a support admin "
        "(keeps the knowledge in /admin/) or a superuser. Asks for the password, or reads it "
        "from standard input with --password-stdin."
    )
    stealth_options = ("stdin",)  # tests hand in their own standard input

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--role",
            action="append",
            choices=roles.ROLES,
            required=True,
            help="agent, support-admin or superuser; give it twice for both agent and support admin.",
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from the first line of standard input (for scripts).",
        )

    def handle(self, username, role, password_stdin, **options):
        # Like the project's other commands, in English (the password validators' words too).
        with translation.override("en"):
            self._create(username, role, password_stdin, options)

    def _create(self, username, role, password_stdin, options):
        stdin = options.get("stdin") or sys.stdin
        User = get_user_model()
        username = self._valid_username(User, username)
        password = self._read_password(stdin, password_stdin)
        user = User(**{User.USERNAME_FIELD: username})
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise CommandError("The password was refused: " + " ".join(error.messages)) from None
        wanted = list(dict.fromkeys(role))
        with transaction.atomic():
            user.set_password(password)
            user.save()
            roles.grant(user, *wanted)
        places = " and ".join(dict.fromkeys(WHERE[name] for name in wanted))
        self.stdout.write(
            self.style.SUCCESS(f"Created {' and '.join(wanted)} '{username}': signs in at {places}.")
        )

    def _valid_username(self, User, username: str) -> str:
        field = User._meta.get_field(User.USERNAME_FIELD)
        try:
            username = field.clean(username.strip(), None)
        except ValidationError as error:
            raise CommandError(
                f"The username {username!r} was refused: " + " ".join(error.messages)
            ) from None
        # Usernames differing only in case would sign in as each other on some databases
        # and be told apart by no one on the phone.
        existing = User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": username}).first()
        if existing is not None:
            raise CommandError(
                f"An account named '{existing.get_username()}' exists already; nothing was changed. "
                f"Choose another name, or set its password with `manage.py changepassword "
                f"{existing.get_username()}`."
            )
        return username

    def _read_password(self, stdin, from_stdin: bool) -> str:
        if from_stdin:
            password = stdin.readline().rstrip("\r\n")
        elif stdin.isatty():
            try:
                password = getpass.getpass("Password: ")
                if password != getpass.getpass("Password (again): "):
                    raise CommandError("The two passwords differ; nothing was changed.")
            except (KeyboardInterrupt, EOFError):
                raise CommandError("Cancelled; nothing was changed.") from None
        else:
            raise CommandError(
                "No terminal to ask for the password: pipe it in with --password-stdin "
                "(e.g. from a secret store); it is never taken as an argument."
            )
        if not password:
            raise CommandError("The password is empty; nothing was changed.")
        return password
