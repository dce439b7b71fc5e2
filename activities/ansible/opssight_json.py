# OpsSight's stdout callback for ansible-playbook: one JSON object per line on stdout, so the worker
# reads the play's structure (tasks, per-host results, the recap) instead of parsing human output.
from __future__ import annotations

import json
import sys

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: opssight_json
    type: stdout
    short_description: one JSON object per line, for OpsSight
    description: Prints tasks, per-host results and the recap as JSON lines.
"""

MAX_TEXT = 4000


def _text(value):
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + "…"


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "opssight_json"

    def __init__(self):
        super().__init__()
        self._task_no = 0
        self._failures = {}

    def _emit(self, event, **fields):
        fields["event"] = event
        sys.stdout.write(json.dumps(fields, default=str, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def v2_playbook_on_play_start(self, play):
        self._emit("play", name=play.get_name().strip())

    def _task_start(self, task, handler=False):
        self._task_no += 1
        self._emit("task", task=task.get_name().strip(), id=self._task_no, uuid=task._uuid, handler=handler)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._task_start(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._task_start(task, handler=True)

    def _host_result(self, status, result, **extra):
        r = result._result
        host = result._host.get_name()
        task = result._task.get_name().strip()
        message = r.get("msg") or r.get("stderr") or r.get("reason") or None
        diff = None
        if self._display.verbosity >= 0 and r.get("diff") and status in ("ok", "changed"):
            try:
                diff = self._get_diff(r["diff"])
            except Exception:  # a diff we cannot render must not stop the play's output
                diff = None
        if status in ("failed", "unreachable") and not extra.get("ignored"):
            self._failures[host] = {"failedTask": task, "message": _text(message) or status}
        self._emit(
            "host",
            host=host,
            task=task,
            uuid=result._task._uuid,
            status=status,
            msg=_text(message),
            diff=_text(diff),
            **extra,
        )

    def v2_runner_on_ok(self, result):
        self._host_result("changed" if result._result.get("changed") else "ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._host_result("failed", result, ignored=bool(ignore_errors))

    def v2_runner_on_skipped(self, result):
        self._host_result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._host_result("unreachable", result)

    def v2_playbook_on_no_hosts_matched(self):
        self._emit("warning", msg="no hosts matched")

    def v2_playbook_on_stats(self, stats):
        hosts = {}
        for host in sorted(stats.processed.keys()):
            s = stats.summarize(host)
            hosts[host] = {
                "ok": s.get("ok", 0),
                "changed": s.get("changed", 0),
                "failed": s.get("failures", 0),
                "unreachable": s.get("unreachable", 0),
                "skipped": s.get("skipped", 0),
                "rescued": s.get("rescued", 0),
                "ignored": s.get("ignored", 0),
            }
            if host in self._failures and (hosts[host]["failed"] or hosts[host]["unreachable"]):
                hosts[host].update(self._failures[host])
        self._emit("recap", hosts=hosts)
