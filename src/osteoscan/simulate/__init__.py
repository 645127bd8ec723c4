"""osteoscan.simulate."""
