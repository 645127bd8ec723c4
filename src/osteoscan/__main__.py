from osteoscan.service.cli import run

run()
