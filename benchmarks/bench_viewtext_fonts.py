"""The view-word reader on fonts other than its own (docs/ingest.md, "Reading the view label").

Renders the seven words it knows, and 38 other words seen on captures, in every font of
FONTS found on this machine (fonts differ per machine: missing ones are skipped and listed),
at 12, 16 and 22 pixels, and counts right readings and false ones (another word read as a view
word). The earlier whole-word-only reader (commit ed7f230) gave 103/126 right and 138 false
readings on the same words and fonts; it is not kept, so it is not rerun here.

Run: ``.venv/bin/python -m benchmarks.bench_viewtext_fonts``; writes
``benchmarks/results/viewtext_fonts.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from osteoscan.io.viewtext import WORDS, read_word

FONTS = ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf",
         "/usr/share/fonts/opentype/urw-base35/NimbusSans-Regular.otf",
         "/usr/share/fonts/truetype/dejavu/DejaVuSerif-Bold.ttf",
         "/usr/share/fonts/truetype/noto/NotoSansMono-Regular.ttf",
         "/usr/share/fonts/opentype/urw-base35/NimbusMonoPS-Regular.otf")
OTHERS = ("Bone Sequence", "PELVIS", "CHEST", "R", "L", "ID 123456", "WB", "LAO", "ANT CHEST",
          "POST PELVIS", "SKULL", "KNEES", "FEET", "SPINE", "THORAX", "ANTERIOR 10MIN",
          "DOE^JOHN", "2026-01-01", "FOOT", "LEGS", "ARMS", "HIPS", "POSTOP", "TEST", "PAST",
          "AUNT", "RAO", "LPO", "HOST", "MOST", "BOOT", "ROOT", "POLE", "ANY", "AND", "ART",
          "RLL", "ALL")
SIZES = (12, 16, 22)


def _ink(font_path: str, text: str, size: int) -> np.ndarray:
    font = ImageFont.truetype(font_path, size)
    _, _, right, bottom = font.getbbox(text)
    canvas = Image.new("L", (right + 8, bottom + 8), 0)
    ImageDraw.Draw(canvas).text((4, 4), text, fill=255, font=font)
    return np.asarray(canvas).astype(np.float32)


def main() -> None:
    found = [f for f in FONTS if Path(f).is_file()]
    per_font, false = {}, []
    for f in found:
        right = sum((r := read_word(_ink(f, w, s))) is not None and r.word == w
                    for w in WORDS for s in SIZES)
        per_font[Path(f).name] = f"{right}/{len(WORDS) * len(SIZES)}"
        false += [(Path(f).name, t, s, r.word) for t in OTHERS for s in SIZES
                  if (r := read_word(_ink(f, t, s))) is not None]
    out = {"command": "python -m benchmarks.bench_viewtext_fonts", "fonts_missing":
           [f for f in FONTS if f not in found], "right_per_font": per_font,
           "other_words": len(OTHERS), "sizes": SIZES, "false_readings": len(false),
           "false_examples": false[:20]}
    path = Path(__file__).parent / "results" / "viewtext_fonts.json"
    path.write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
