"""The ``--no-phi`` and ``--id-key`` options every command that writes per-study outputs takes.

Both turn on :mod:`osteoscan.io.redact` (one redaction step before any writer; docs/privacy.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

NoPhi = Annotated[bool, typer.Option(
    "--no-phi", help="Write no patient identifiers: ids become per-run HMAC pseudonyms, no "
    "paths, no dates (docs/privacy.md).")]
IdKey = Annotated[Path | None, typer.Option(
    "--id-key", exists=True, dir_okay=False, help="Key file (>= 16 bytes) for --no-phi "
    "pseudonyms that stay the same across runs; implies --no-phi.")]
