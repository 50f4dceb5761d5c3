"""A studio task driven by an agent: claim (start) and submit, as signed transitions.

>>> task = StudioTask(client, agent, studio="research", task="t-1")
>>> task.claim()                      # studio.task.start (the task must be assigned to the agent)
>>> task.submit({"answer": 42})       # studio.task.submit

Each transition is an action `studio.task.<transition>` signed by the agent
(its parent is the task's last action), sent to the studio's transition route,
which checks the task's state machine and records it in the log. The agent's
nonce sequence is shared with its other actions (`ChaosCoreAgent.record_with`).
"""

from __future__ import annotations

from typing import Any

from .agent import ChaosCoreAgent
from .client import GatewayClient


class StudioTask:
    def __init__(self, client: GatewayClient, agent: ChaosCoreAgent, *, studio: str, task: str):
        self.client = client
        self.agent = agent
        self.studio = studio
        self.task = task
        self.actions: list[tuple[str, str]] = []  # (transition, action id), in order

    def state(self) -> dict:
        return self.client.get_task(self.studio, self.task)

    def _transition(self, transition: str, payload: dict) -> dict:
        previous = self.state().get("lastAction")

        def send(entry: dict) -> dict:
            return self.client.transition(self.studio, transition, entry, payload, signer=self.agent.signer)

        result = self.agent.record_with(
            send,
            f"studio.task.{transition}",
            payload,
            parents=[previous] if previous else [],
            studio=self.studio,
            task=self.task,
        )
        self.actions.append((transition, result["actionId"]))
        return result

    def claim(self) -> dict:
        """Starts the task (assigned → running)."""
        return self._transition("start", {})

    def submit(self, result: Any) -> dict:
        """Submits the task's result (running → submitted)."""
        return self._transition("submit", {"result": result})
