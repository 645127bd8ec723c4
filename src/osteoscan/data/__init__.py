"""osteoscan.data: study tables, the torch Dataset, patient-level splits.

``splits`` and ``table`` do not import torch; ``dataset`` does.
"""
