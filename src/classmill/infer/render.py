"""Draw a prediction onto its image: what a person sees after testing one picture."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from classmill.image import to_rgb
from classmill.infer.predictor import Prediction

# Small inputs (32 px thumbnails) are scaled up so the caption is readable; huge photos are
# scaled down so the result stays a quick download.
_MIN_WIDTH = 360
_MAX_SIDE = 1024
_BAND_COLOUR = (24, 28, 36)
_TEXT_COLOUR = (255, 255, 255)
_MUTED_COLOUR = (170, 178, 190)
_UNCERTAIN_COLOUR = (255, 196, 87)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow's bundled font: works offline
    except (TypeError, OSError):  # Pillow built without FreeType: fixed-size bitmap font
        return ImageFont.load_default()


def _fit_text(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> str:
    if draw.textlength(text, font=font) <= max_width:
        return text
    while text and draw.textlength(text + "…", font=font) > max_width:
        text = text[:-1]
    return text + "…"


def shrink_for_result(img: Image.Image) -> Image.Image:
    """The image at no more than the result picture's size (what render_result_image would keep):
    lets a caller hold many pictures for rendering without holding their full resolution."""
    if max(img.size) <= _MAX_SIDE:
        return img
    scale = _MAX_SIDE / max(img.size)
    return img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))), Image.Resampling.LANCZOS)


def _scaled(img: Image.Image) -> Image.Image:
    w, h = img.size
    scale = 1.0
    if w < _MIN_WIDTH:
        scale = _MIN_WIDTH / w
    if max(w, h) * scale > _MAX_SIDE:
        scale = _MAX_SIDE / max(w, h)
    if scale == 1.0:
        return img
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # Nearest keeps tiny images crisp instead of blurring them into mush when enlarged.
    return img.resize(size, Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)


def render_result_image(image: Image.Image, prediction: Prediction) -> Image.Image:
    """Return a copy of `image` with a caption band below it: top label, confidence, runner-up."""
    picture = _scaled(to_rgb(image))
    w, h = picture.size
    title_size = max(16, min(40, w // 14))
    title_font, small_font = _font(title_size), _font(max(12, title_size * 3 // 5))
    pad = title_size // 2
    band = title_size + small_font.size + pad * 3 if hasattr(small_font, "size") else title_size * 2 + pad * 3
    canvas = Image.new("RGB", (w, h + band), _BAND_COLOUR)
    canvas.paste(picture, (0, 0))
    draw = ImageDraw.Draw(canvas)
    percent = f"{prediction.confidence * 100:.1f}%"
    percent_width = draw.textlength(percent, font=title_font)
    label = _fit_text(draw, prediction.label, title_font, int(w - percent_width - pad * 3))
    draw.text((pad, h + pad), label, font=title_font, fill=_TEXT_COLOUR)
    draw.text((w - pad - percent_width, h + pad), percent, font=title_font, fill=_TEXT_COLOUR)
    runners = "  ".join(f"{name} {prob * 100:.1f}%" for name, prob in prediction.top_k[1:3])
    notes = []
    if prediction.uncertain:  # said first: the reader must not take the label at face value
        notes.append(f"uncertain (below {prediction.threshold * 100:.1f}%)")
    if runners:
        notes.append("next: " + runners)
    if notes:
        line = _fit_text(draw, "  ·  ".join(notes), small_font, w - pad * 2)
        colour = _UNCERTAIN_COLOUR if prediction.uncertain else _MUTED_COLOUR
        draw.text((pad, h + pad * 2 + title_size), line, font=small_font, fill=colour)
    return canvas
