"""The exit codes every ``osteoscan`` command uses (README "Exit codes", docs/cli.md).

One convention, so that scripts and schedulers can tell the outcomes apart:

- ``OK`` (0): everything asked for was done and nothing was wrong.
- ``PROBLEMS`` (1): the command finished, but some inputs failed or problems were found
  (failed studies, manifest errors, a failed comparison arm); they are listed.
- ``USAGE`` (2): usage or user error (bad option, missing file, bad config, empty input):
  nothing was done; one line on stderr, no traceback.
- ``INTERRUPTED`` (130): stopped by Ctrl-C (SIGINT) or SIGTERM; what finished is written.
"""

from __future__ import annotations

import typer

OK = 0
PROBLEMS = 1
USAGE = 2
INTERRUPTED = 130


def finish(problems: bool) -> None:
    """End a command that ran to completion: exit 1 when ``problems``, else return (exit 0)."""
    if problems:
        raise typer.Exit(PROBLEMS)
