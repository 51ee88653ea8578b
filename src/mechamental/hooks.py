"""After-commit hooks and the topics committed work tells listeners about.

A transaction collects callbacks and runs them once it has committed; a reader has no
transaction, so it runs them at once. `Listeners` belong to one `Database`, so two apps in
one process never hear each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Generic, TypeVar

AfterCommit = Callable[[], None]
P = TypeVar("P")


@dataclass(frozen=True, slots=True)
class Topic(Generic[P]):
    """Something committed work tells this process about (e.g. "an event was recorded")."""

    name: str


class Listeners:
    """Who hears each `Topic`: owned by one `Database`, so two apps in a process stay apart."""

    __slots__ = ("_by_topic",)

    def __init__(self) -> None:
        self._by_topic: dict[Topic[Any], list[Callable[[Any], None]]] = {}

    def add(self, topic: Topic[P], callback: Callable[[P], None]) -> None:
        """Call `callback(payload)` whenever a committed transaction notifies `topic`."""
        self._by_topic.setdefault(topic, []).append(callback)

    def remove(self, topic: Topic[P], callback: Callable[[P], None]) -> None:
        """Stop calling `callback` for `topic`."""
        callbacks = self._by_topic.get(topic, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def tell(self, topic: Topic[P], payload: P) -> None:
        """Call every listener of `topic`, in the order they were added."""
        for callback in list(self._by_topic.get(topic, ())):
            callback(payload)


class Hooks:
    """After-commit hooks: collected in a transaction, run at once on a reader."""

    __slots__ = ("_callbacks", "_listeners")

    def __init__(self, listeners: Listeners, *, deferred: bool) -> None:
        self._listeners = listeners
        self._callbacks: list[AfterCommit] | None = [] if deferred else None

    def after_commit(self, callback: AfterCommit) -> None:
        if self._callbacks is None:
            callback()  # no transaction: already "committed"
        else:
            self._callbacks.append(callback)

    def notify(self, topic: Topic[P], payload: P) -> None:
        self.after_commit(partial(self._listeners.tell, topic, payload))

    def committed(self) -> None:
        for callback in self._callbacks or ():
            callback()
