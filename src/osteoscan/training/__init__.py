"""osteoscan.training."""
