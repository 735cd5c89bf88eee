"""The sans-IO state of the orchestrator: plain Python, no trio, no I/O.

The per-user event log (seq, retention, replay, acks), the dedup table, the run state
machine, ids, delivery-latency statistics, the frame rate limit, the orchestrator's
counters and a connection's credentials. Hypothesis drives these directly; the layers
above wrap them in tasks and channels.
"""
