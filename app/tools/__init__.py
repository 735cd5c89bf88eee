"""The demo tools that ship with the wsao_trio service, one factory per tool."""

from app.tools.calculator import calculator_tool as calculator_tool
from app.tools.clock import datetime_tool as datetime_tool
from app.tools.docs_search import docs_search_tool as docs_search_tool
from app.tools.echo import echo_tool as echo_tool
from app.tools.units import units_tool as units_tool
