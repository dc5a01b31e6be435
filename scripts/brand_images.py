"""Draw the project's own neutral lock glyph (no Salto mark) at Home Assistant's brand sizes.

Run with the dev venv (Pillow comes with Home Assistant): .venv/bin/python scripts/brand_images.py
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "custom_components" / "salto_ks" / "brand"
BLUE = (3, 105, 161, 255)
WHITE = (255, 255, 255, 255)


def glyph(s: int) -> Image.Image:
    """A padlock: shackle, body, keyhole; drawn large and scaled down for smooth edges."""
    img = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle(
        [s * 0.27, s * 0.06, s * 0.73, s * 0.60], radius=int(s * 0.23), outline=BLUE, width=s // 12
    )
    d.rounded_rectangle([s * 0.14, s * 0.40, s * 0.86, s * 0.94], radius=int(s * 0.09), fill=BLUE)
    cx, cy, r = s * 0.5, s * 0.60, s * 0.075
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=WHITE)
    d.polygon(
        [
            (cx - r * 0.55, cy),
            (cx + r * 0.55, cy),
            (cx + r * 0.9, s * 0.82),
            (cx - r * 0.9, s * 0.82),
        ],
        fill=WHITE,
    )
    return img


def fit(img: Image.Image, size: int) -> Image.Image:
    """Trim the transparent border and centre the glyph on a square canvas."""
    img = img.crop(img.getbbox())
    scale = size / max(img.width, img.height)
    img = img.resize(
        (round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS
    )
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(img, ((size - img.width) // 2, (size - img.height) // 2), img)
    return canvas


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    big = glyph(1024)
    for name, size in (("icon", 256), ("icon@2x", 512), ("logo", 128), ("logo@2x", 256)):
        fit(big, size).save(OUT / f"{name}.png")
