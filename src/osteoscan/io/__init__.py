"""osteoscan.io."""
