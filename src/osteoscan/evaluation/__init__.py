"""osteoscan.evaluation."""
