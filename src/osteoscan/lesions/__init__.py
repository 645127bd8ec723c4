"""osteoscan.lesions."""
