"""`mechamental watch`: tail a workspace's events in a terminal, on the Python client.

Kept out of cli.py so the command stays a thin wrapper; the client does the resuming, this
only turns each event into one line a person can read (or one JSON object with `--json`).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import Any, TextIO

from mechamental_client import Event, MechaMental, Reset, Status

COLORS = {"workspace": "\033[36m", "presence": "\033[35m", "sync": "\033[33m"}
RESET_COLOR = "\033[0m"


def _value(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def describe(event: Event) -> str:
    """What happened, in words: the changed fields, the workspace, who views what."""
    data = event.data
    if event.type == "workspace.updated" and isinstance(data.get("changes"), dict):
        changes = data["changes"]
        return "changed " + ", ".join(f"{k}={_value(v)}" for k, v in sorted(changes.items()))
    if event.type == "workspace.created" and isinstance(data.get("workspace"), dict):
        return f"name={_value(data['workspace'].get('name'))}"
    if event.type.startswith("presence."):
        viewing = data.get("viewing")
        if isinstance(viewing, dict):
            return f"viewing {viewing.get('resource_type')}/{viewing.get('resource_id')}"
        return ""
    if event.type == "workspace.deleted":
        return ""
    return _value(data) if data else ""


def render(event: Event | Reset, *, as_json: bool, color: bool) -> str:
    """One line for an event: JSON, or readable (colored on a terminal)."""
    if isinstance(event, Reset):
        if as_json:
            body = {
                "type": event.type,
                "id": event.id,
                "reason": event.reason,
                "workspace": event.workspace.raw,
            }
            return json.dumps(body, default=str)
        why = f" ({event.reason})" if event.reason else ""
        text = (
            f"{event.type:<24} {event.id or '-':<16} workspace re-read{why}: "
            f"name={_value(event.workspace.name)}"
        )
    else:
        if as_json:
            return json.dumps(asdict(event), default=str)
        parts = [
            event.occurred_at or "-",
            f"{event.type:<24}",
            f"{event.id or '-':<16}",
            f"by {event.actor_id or '-'}",
            describe(event),
        ]
        text = " ".join(p for p in parts if p)
    if color:
        start = COLORS.get(event.type.split(".", 1)[0], "")
        return f"{start}{text}{RESET_COLOR}" if start else text
    return text


def watch(
    *,
    url: str,
    org_id: str,
    workspace_id: str,
    token: str,
    as_json: bool,
    out: TextIO = sys.stdout,
    notes: TextIO = sys.stderr,
) -> None:
    """Print the workspace's events until it is deleted (or interrupted); the stream's
    status changes go to `notes` (stderr), so that `out` stays one line per event."""

    def tell(status: Status) -> None:
        print(f"-- {status}", file=notes, flush=True)

    color = not as_json and out.isatty()
    with (
        MechaMental(url, org_id, token=token) as client,
        client.sync(workspace_id, on_status=tell) as stream,
    ):
        for event in stream:
            print(render(event, as_json=as_json, color=color), file=out, flush=True)
