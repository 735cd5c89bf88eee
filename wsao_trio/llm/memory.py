"""Earlier exchanges of each thread, kept in memory for the ``llm`` agent.

The orchestrator keeps a user's events, not conversations, and a run sees only its
own message; without this a follow-up ("and in Paris?") would reach the model with
no context. Each (user, thread) keeps its last (question, answer) pairs of completed
runs. Bounded: at most ``max_threads`` threads (the least recently used forgotten
first), each at most ``max_exchanges`` pairs and ``max_chars`` characters (the
oldest dropped first). One process's memory: with several processes, a follow-up
served by another process starts that thread afresh.
"""

from __future__ import annotations

from collections import OrderedDict, deque

Exchange = tuple[str, str]


class ThreadMemory:
    """Per-(user, thread) history, bounded in threads, exchanges and characters."""

    def __init__(
        self, *, max_threads: int = 1000, max_exchanges: int = 10, max_chars: int = 20_000
    ) -> None:
        self._max_threads = max_threads
        self._max_exchanges = max_exchanges
        self._max_chars = max_chars
        self._threads: OrderedDict[tuple[str, str], deque[Exchange]] = OrderedDict()

    def history(self, user_id: str, thread_id: str) -> tuple[Exchange, ...]:
        """The thread's remembered exchanges, oldest first."""
        key = (user_id, thread_id)
        if key not in self._threads:
            return ()
        self._threads.move_to_end(key)
        return tuple(self._threads[key])

    def remember(self, user_id: str, thread_id: str, question: str, answer: str) -> None:
        """Add one completed exchange, then drop what is over the bounds."""
        key = (user_id, thread_id)
        exchanges = self._threads.setdefault(key, deque())
        self._threads.move_to_end(key)
        exchanges.append((question, answer))
        size = sum(len(q) + len(a) for q, a in exchanges)
        while exchanges and (len(exchanges) > self._max_exchanges or size > self._max_chars):
            dropped = exchanges.popleft()
            size -= len(dropped[0]) + len(dropped[1])
        while len(self._threads) > self._max_threads:
            self._threads.popitem(last=False)

    def __len__(self) -> int:
        """How many threads are remembered."""
        return len(self._threads)
