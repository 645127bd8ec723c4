"""osteoscan.models."""
