"""Service layer: CLI (typer), HTTP (FastAPI), PACS. Thin layers over the Python API."""
