"""The Redis backplane: one service across processes (contract v1.1).

Importing this package needs the ``redis`` extra (coredis). See
:class:`wsao_trio._backplane.redis.backplane.RedisBackplane` and ``docs/scaling.md``.
"""

from wsao_trio.extras import require

require("coredis", extra="redis", needed_by=__name__)
