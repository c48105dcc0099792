"""``crashline admin``: manage webapp users, their permissions and API tokens.

  crashline admin create-user NAME [--email E] [--password-stdin] [--permission P ...]
  crashline admin set-password NAME [--password-stdin]
  crashline admin grant NAME PERMISSION...      crashline admin revoke NAME PERMISSION...
  crashline admin activate NAME                 crashline admin deactivate NAME
  crashline admin create-token NAME [--permission P ...] [--days N] [--notes TEXT]
  crashline admin delete-token ID
  crashline admin list-users                    crashline admin list-tokens [NAME]
"""

from __future__ import annotations

import argparse
import getpass
import sys

from crashline.common.database.pool import DatabaseError
from crashline.webapp.auth.audit import cli_actor
from crashline.webapp.auth.principal import PERMISSIONS
from crashline.webapp.auth.store import AccountError, AccountStore
from crashline.webapp.settings import get_webapp_settings


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\n")
        if not password:
            raise AccountError("no password on stdin (use --no-password for a user who "
                               "signs in with API tokens only)")
        return password
    if not sys.stdin.isatty():
        raise AccountError("no terminal to ask for the password on: give it on stdin with "
                           "--password-stdin, or use --no-password for a user who signs in "
                           "with API tokens only")
    try:
        first = getpass.getpass("Password: ")
        again = getpass.getpass("Password (again): ")
    except EOFError:
        raise AccountError("no password given") from None
    if first != again:
        raise AccountError("the passwords differ")
    return first


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crashline admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    perm_help = f"one of: {', '.join(PERMISSIONS)}"

    p = sub.add_parser("create-user", help="create a user")
    p.add_argument("username")
    p.add_argument("--email")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from stdin (else prompt on the terminal)")
    p.add_argument("--no-password", action="store_true",
                   help="create without a password: the user signs in with API tokens only")
    p.add_argument("--permission", action="append", default=[], help=perm_help)

    p = sub.add_parser("set-password", help="set a user's password")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")

    for name in ("grant", "revoke"):
        p = sub.add_parser(name, help=f"{name} permissions ({perm_help})")
        p.add_argument("username")
        p.add_argument("permissions", nargs="+")

    for name in ("activate", "deactivate"):
        p = sub.add_parser(name, help=f"{name} a user (an inactive user's tokens stop working)")
        p.add_argument("username")

    p = sub.add_parser("create-token", help="create an API token and print its key once")
    p.add_argument("username")
    p.add_argument("--permission", action="append", default=[], help=perm_help)
    p.add_argument("--days", type=int, default=None, help="lifetime (default from settings)")
    p.add_argument("--notes", default="")

    p = sub.add_parser("delete-token", help="delete an API token")
    p.add_argument("token_id", type=int)

    sub.add_parser("list-users", help="list users and their permissions")
    p = sub.add_parser("list-tokens", help="list API tokens (never their keys)")
    p.add_argument("username", nargs="?")
    return parser


def run(args: argparse.Namespace, store: AccountStore, token_days: int) -> None:
    cmd = args.command
    actor = cli_actor()  # every change is in the audit log, as the pages' are
    if cmd == "create-user":
        password = None if args.no_password else _read_password(args.password_stdin)
        user = store.create_user(args.username, password or None, args.email, args.permission,
                                 actor=actor)
        print(f"created user {user.username} (permissions: "
              f"{', '.join(sorted(user.permissions)) or 'none'})")
    elif cmd == "set-password":
        store.set_password(args.username, _read_password(args.password_stdin), actor=actor)
        print(f"password of {args.username} set")
    elif cmd in ("grant", "revoke"):
        user = getattr(store, cmd)(args.username, args.permissions, actor=actor)
        print(f"{user.username}: {', '.join(sorted(user.permissions)) or 'no permissions'}")
    elif cmd in ("activate", "deactivate"):
        store.set_active(args.username, cmd == "activate", actor=actor)
        print(f"{args.username} {cmd}d")
    elif cmd == "create-token":
        days = token_days if args.days is None else args.days  # 0 is a value, not "unset"
        key, token = store.create_token(args.username, args.permission, days, args.notes,
                                        actor=actor)
        print(f"token {token.id} for {token.username}, permissions: "
              f"{', '.join(sorted(token.permissions)) or 'none'}, expires "
              f"{token.expires_at:%Y-%m-%d %H:%M} UTC", file=sys.stderr)
        print("This key is shown only once; send it as the Auth-Token header:", file=sys.stderr)
        print(key)
    elif cmd == "delete-token":
        store.delete_token(args.token_id, actor=actor)
        print(f"token {args.token_id} deleted")
    elif cmd == "list-users":
        for user in store.list_users():
            state = "active" if user.is_active else "inactive"
            print(f"{user.username}\t{state}\t{','.join(sorted(user.permissions)) or '-'}\t"
                  f"{user.email or ''}")
    elif cmd == "list-tokens":
        for token in store.list_tokens(args.username):
            state = "expired" if token.expired() else f"expires {token.expires_at:%Y-%m-%d}"
            print(f"{token.id}\t{token.username}\t{token.key_prefix}...\t{state}\t"
                  f"{','.join(sorted(token.permissions)) or '-'}\t{token.notes}")


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    settings = get_webapp_settings()
    from crashline.common.database import database_from_settings

    db = database_from_settings(settings)
    try:
        run(args, AccountStore(db), settings.webapp_token_days)
    except (AccountError, ValueError) as exc:
        print(f"crashline admin: {exc}", file=sys.stderr)
        return 1
    except DatabaseError as exc:
        print(f"crashline admin: {exc}", file=sys.stderr)
        return 2
    finally:
        db.close()
    return 0
