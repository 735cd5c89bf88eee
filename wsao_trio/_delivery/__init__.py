"""One process's sockets: the transport protocol, connections and their hub, senders.

A run never sees a socket: it publishes to a backplane, which hands each stored event
to the hub; each connection's own sender task writes it out, and the hub closes a
connection that falls behind (4408) so that it resumes from its last seq.
"""
