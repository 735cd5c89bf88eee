"""Where events are stored and fanned out: the seam and its engines.

:mod:`.base` is the seam (Backplane, RunHost, View, Stored, Claim); :mod:`.memory`
serves one process, :mod:`.redis` several. Engines never import each other, and only
the composition root (:mod:`wsao_trio._service.assembly`) picks one.
"""
