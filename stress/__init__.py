"""Load and chaos harness for wsao_trio: proves delivery under load over the wire.

The harness speaks only the public wire contract (``PROTOCOL.md``): it opens many
trio-websocket clients in one process, drives scripted runs, checks every event it
receives (:mod:`stress.checker`) and reports throughput, delivery latency and
delivery success (:mod:`stress.report`). ``python -m stress --help`` lists the commands.
"""
