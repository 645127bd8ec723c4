"""osteoscan.preprocessing."""
