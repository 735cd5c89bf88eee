"""Start-up: raise the soft open-files limit so the connection cap is reachable.

Each WebSocket holds one descriptor. The soft ``RLIMIT_NOFILE`` is often 1,024 while
the hard limit is far higher; a service that keeps the soft limit runs out of
descriptors (and refuses everyone) long before ``WSAO_MAX_CONNECTIONS``.
"""

from __future__ import annotations

import logging
import resource

logger = logging.getLogger(__name__)
HEADROOM = 256  # descriptors for listeners, log files, Redis, outgoing HTTP


def raise_fd_limit(max_connections: int) -> int:
    """Raise the soft limit to the hard limit; warn if it is below the cap. Returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            logger.warning("could not raise the open-files limit to %s: %s", target, exc)
    needed = max_connections + HEADROOM
    if soft < needed:
        logger.warning(
            "open-files limit %s is below WSAO_MAX_CONNECTIONS + %s = %s: descriptors will "
            "run out first; raise the hard limit (ulimit -Hn, LimitNOFILE=) or lower the cap",
            soft,
            HEADROOM,
            needed,
        )
    return soft
