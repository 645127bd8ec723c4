"""osteoscan.data."""
