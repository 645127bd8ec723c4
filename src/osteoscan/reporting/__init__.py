"""osteoscan.reporting."""
