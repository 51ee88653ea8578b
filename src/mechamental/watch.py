"""`mechamental watch`: tail a workspace's events in a terminal, on the Python client.

Kept out of cli.py so the command stays a thin wrapper; the client does the resuming.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from typing import TextIO

from mechamental_client import Event, MechaMental, Reset

COLORS = {"workspace": "\033[36m", "presence": "\033[35m", "sync": "\033[33m"}
RESET_COLOR = "\033[0m"


def render(event: Event | Reset, *, as_json: bool, color: bool) -> str:
    """One line for an event: JSON, or readable (colored on a terminal)."""
    if isinstance(event, Reset):
        body = {"type": event.type, "id": event.id, "workspace": event.workspace.raw}
        if as_json:
            return json.dumps(body, default=str)
        text = f"{event.type:<22} workspace re-read: {event.workspace.name}"
    else:
        if as_json:
            return json.dumps(asdict(event), default=str)
        who = f" by {event.actor_id}" if event.actor_id else ""
        text = f"{event.occurred_at or '':<27} {event.type:<22}{who} {json.dumps(event.data)}"
    if color:
        start = COLORS.get(event.type.split(".", 1)[0], "")
        return f"{start}{text}{RESET_COLOR}" if start else text
    return text


def watch(
    *, url: str, org_id: str, workspace_id: str, token: str, as_json: bool, out: TextIO = sys.stdout
) -> None:
    """Print the workspace's events until it is deleted (or interrupted)."""
    color = not as_json and out.isatty()
    with MechaMental(url, org_id, token=token) as client:
        for event in client.sync(workspace_id):
            print(render(event, as_json=as_json, color=color), file=out, flush=True)
