"""What the crontabber's ``/__heartbeat__`` checks: PostgreSQL answers, and no job is broken
(its last run failed) or stale (no success for two of its periods). The routes and their
server are the common ones (``crashline.common.health.serve_health``)."""

from __future__ import annotations

from collections.abc import Callable

from crashline.crontabber.runner import Runner

DISTRIBUTION = "crashline-crontabber"


class JobsUnhealthy(Exception):
    pass


def checks(runner: Runner) -> dict[str, Callable[[], object]]:
    def jobs() -> dict:
        problems = runner.problems()
        if problems:
            raise JobsUnhealthy("; ".join(f"{name} {why}" for name, why in problems.items()))
        return {"jobs": len(runner.jobs)}

    return {"database": runner.state.db.check, "jobs": jobs}
