"""The ``crashline`` command: ``crashline <command> [args]``.

Each package contributes its commands as entry points in the group ``crashline.commands``
(a function ``main(argv) -> int``), so a service's image has exactly its own commands.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points


def _commands() -> dict:
    return {ep.name: ep for ep in entry_points(group="crashline.commands")}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = _commands()
    if not argv or argv[0] in ("-h", "--help", "help"):
        print("usage: crashline <command> [args...]\n\ncommands:")
        for name in sorted(commands):
            print(f"  {name}")
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in commands:
        print(f"crashline: unknown command {name!r}; try: {', '.join(sorted(commands))}",
              file=sys.stderr)
        return 2
    return int(commands[name].load()(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
