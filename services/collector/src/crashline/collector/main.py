"""``crashline-collector``: run the collector under gunicorn (settings from the environment)."""

from __future__ import annotations

import sys

APP = "crashline.collector.app:create_app()"
CONFIG = "python:crashline.collector.gunicorn_conf"


def main(argv: list[str] | None = None) -> int:
    from gunicorn.app.wsgiapp import run

    extra = list(sys.argv[1:] if argv is None else argv)
    sys.argv = ["crashline-collector", "-c", CONFIG, *extra, APP]
    run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
