"""The composition root: the orchestrator and the helpers it owns.

:mod:`.host` holds the :class:`ServiceHost` Protocol that session, janitor and health
are typed against (never the concrete orchestrator); :mod:`.assembly` picks the
backplane engine.
"""
