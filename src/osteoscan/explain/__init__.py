"""osteoscan.explain."""
