"""Job processes for server tests: a user, a session factory and LocalExecutors that run the test kinds.

The executors start `python -m support.job_kinds` (the real entry plus test-only kinds); every job
process is killed when the test closes its Runner.
"""

from __future__ import annotations

import os
from pathlib import Path

import classmill
from classmill.server.app import local_executor
from classmill.server.db.models import Role
from classmill.server.db.session import make_engine, session_factory
from classmill.server.services import jobs
from classmill.server.services.passwords import Passwords
from classmill.server.services.users import create_user
from classmill.server.workspace import prepare_workspace
from support.training import wait_for
from support.server_tasks import SETTLED

TESTS = Path(__file__).resolve().parents[1]
SRC = Path(classmill.__file__).resolve().parents[1]
TEST_KINDS = frozenset({"train", "sleep", "chatter"})  # they hold a training slot; "nap" (sleep's function) is light


class Runner:
    """A user, a session factory and executors for one test; every job process is killed at the end."""

    def __init__(self, settings) -> None:
        self.settings = settings
        prepare_workspace(settings.workspace)
        self.engine = make_engine(settings.resolved_database_url)
        self.sessions = session_factory(self.engine)
        with self.sessions() as session:
            self.user = create_user(session, Passwords(1, 64), "alice", "a-long-password", Role.member)
        self.executors = []

    def executor(self, training_jobs: int = 1, light_jobs: int = 2):
        settings = self.settings.model_copy(update={"training_jobs": training_jobs, "light_jobs": light_jobs,
                                                    "job_heartbeat_s": 0.5})
        path = os.pathsep.join([str(SRC), str(TESTS), os.environ.get("PYTHONPATH", "")])
        executor = local_executor(settings, self.sessions, extra_env={"PYTHONPATH": path}, poll_s=0.05,
                                  entry_module="support.job_kinds", training_kinds=TEST_KINDS)
        self.executors.append(executor)
        return executor

    def submit(self, executor, kind="sleep", **params) -> int:
        with self.sessions() as session:
            return jobs.submit_job(session, executor, self.user, kind, params).id

    def view(self, executor, job_id: int) -> jobs.JobView:
        with self.sessions() as session:
            return jobs.get_job(session, executor, self.user, job_id)

    def state(self, executor, job_id: int) -> str:
        return self.view(executor, job_id).job.state

    def wait_state(self, executor, job_id: int, state: str, timeout: float = 20) -> None:
        # Ends early on any other settled state, so a failure shows its reason at once.
        wait_for(lambda: self.state(executor, job_id) in (state, *SETTLED), timeout)
        job = self.view(executor, job_id).job
        assert job.state == state, f"job {job_id} is {job.state}, not {state}: {job.error}"

    def close(self) -> None:
        for executor in self.executors:
            executor.shutdown(terminate=True)
        self.engine.dispose()
