"""Service layer: the ``osteoscan`` command line (typer), a thin layer over the Python API
and :mod:`osteoscan.workflows`."""
