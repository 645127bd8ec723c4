"""Workflows: library code that chains the toolkit's steps for the command line and for
scripts, with progress reported through callbacks (no printing here).

- :mod:`osteoscan.workflows.discover`: command-line inputs -> study tasks.
- :mod:`osteoscan.workflows.analyze`: batch analysis (process pool, reports, worklist),
  interruption (SIGINT/SIGTERM) and atomic, rerunnable outputs.
- :mod:`osteoscan.workflows.demo`: the simulate -> train -> evaluate -> analyze demo.

Layering: above ``reporting`` and ``inference``, below ``service`` (docs/architecture.md).
"""
