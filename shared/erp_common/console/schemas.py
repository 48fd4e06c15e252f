"""The console's one input: the static file asked for."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..schemas import Input

# A flat folder of plain names: no path separator or ``..`` can reach outside it.
FILE_NAME = r"^[a-z0-9][a-z0-9_-]*\.(html|css|js|json|svg)$"


class ConsoleFileIn(Input):
    file: Annotated[str, Field(max_length=64, pattern=FILE_NAME)] = "index.html"
