"""`CardList`: the panel's job cards, newest first: one card per job, a new one at the top, right
under Submit, where the person who clicked it is looking."""

from __future__ import annotations

import threading

import ipywidgets as w

from .. import jobs
from ._job_card import JobCard
from ._widgets import close_descendants

__all__ = ["CardList"]


class CardList(w.VBox):  # type: ignore[misc]
    """The job cards shown, newest first; safe from any thread (cards arrive from job listeners
    and worker threads as well as the kernel)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cards: list[JobCard] = []
        super().__init__(layout=w.Layout(width="100%"))

    @property
    def cards(self) -> list[JobCard]:
        """The cards, newest first (a copy)."""
        with self._lock:
            return list(self._cards)

    def add(self, card: JobCard) -> JobCard:
        """Show ``card`` first (at the top of the list, right under Submit); returns it.

        A job has one card: when its job is shown already, that card moves to the top and is
        returned, and ``card`` is closed."""
        with self._lock:
            shown = next((c for c in self._cards if c.job is card.job and c is not card), None)
            if shown is not None:
                self._cards.remove(shown)
            elif card in self._cards:
                self._cards.remove(card)
            self._cards.insert(0, card if shown is None else shown)
            self.children = tuple(self._cards)
        if shown is not None:
            card.close()
            return shown
        return card

    def remove(self, card: JobCard) -> None:
        """Take ``card`` out and close it (its job goes on)."""
        with self._lock:
            if card in self._cards:
                self._cards.remove(card)
            self.children = tuple(self._cards)
        card.close()

    def find(self, job_or_id: jobs.Job | str) -> JobCard | None:
        """The card of this job (the same handle, or its video id), or None."""
        with self._lock:
            for card in self._cards:
                if card.job is job_or_id or (card.job.id is not None and card.job.id == job_or_id):
                    return card
        return None

    def close(self) -> None:
        """Close every card (each stops following its job) and the list."""
        with self._lock:
            cards, self._cards = self._cards, []
        for card in cards:
            card.close()
        close_descendants(self)
        super().close()

    def __repr__(self) -> str:
        return f"CardList({len(self._cards)} cards)"
