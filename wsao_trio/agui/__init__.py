"""AG-UI over HTTP/SSE for wsao_trio (protocol v1.2; the ``agui`` extra).

Any host can mount it: validate the request with :func:`parse_run_input`, start or
join the run through the orchestrator, and answer with the body of a
:class:`RunEventStream` whose :meth:`~RunEventStream.serve` runs in a nursery the
host owns. The mapping itself (:class:`EventMapper`, :class:`RunProjection`) does
no I/O. Needs the ``ag-ui-protocol`` package.
"""

from wsao_trio.agui.inputs import AguiInputError as AguiInputError
from wsao_trio.agui.inputs import RunRequest as RunRequest
from wsao_trio.agui.inputs import parse_last_event_id as parse_last_event_id
from wsao_trio.agui.inputs import parse_run_input as parse_run_input
from wsao_trio.agui.mapper import EventMapper as EventMapper
from wsao_trio.agui.mapper import RunIds as RunIds
from wsao_trio.agui.projection import ResumePoint as ResumePoint
from wsao_trio.agui.projection import RunProjection as RunProjection
from wsao_trio.agui.stream import CONTENT_TYPE as CONTENT_TYPE
from wsao_trio.agui.stream import RunEventStream as RunEventStream
from wsao_trio.agui.stream import RunTarget as RunTarget
from wsao_trio.agui.stream import SseTransport as SseTransport

__all__ = [
    "CONTENT_TYPE",
    "AguiInputError",
    "EventMapper",
    "ResumePoint",
    "RunEventStream",
    "RunIds",
    "RunProjection",
    "RunRequest",
    "RunTarget",
    "SseTransport",
    "parse_last_event_id",
    "parse_run_input",
]
