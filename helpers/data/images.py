"""Images: scikit-image's bundled photos, and image-folder sets (cats vs dogs, birds).

Real Kaggle folders are used when the user has placed them in the data root; otherwise an
announced stand-in with the same folder layout is generated.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ._files import STANDIN, DataError, write_manifest

# bundled inside the scikit-image wheel: no download needed
PHOTOS = ["astronaut", "camera", "chelsea", "coffee", "coins", "moon", "page", "text", "rocket",
          "brick", "grass", "gravel", "hubble_deep_field", "retina", "horse", "clock_motion"]
_FILES = {"hubble_deep_field": "hubble_deep_field.jpg", "retina": "retina.jpg", "rocket": "rocket.jpg"}
IMAGE_EXT = (".jpg", ".jpeg", ".png")


def photo(name: str) -> np.ndarray:
    """One of scikit-image's bundled photos as a uint8 array (H, W) or (H, W, 3)."""
    import skimage
    import skimage.io

    if name not in PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose one of {PHOTOS}")
    path = Path(skimage.data.__file__).parent / _FILES.get(name, f"{name}.png")
    img = skimage.io.imread(path)
    if img.dtype == bool:
        img = img.astype(np.uint8) * 255
    return img[..., :3] if img.ndim == 3 else img


def photos() -> dict[str, np.ndarray]:
    return {name: photo(name) for name in PHOTOS}


def _save(img: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=90)


def folder_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXT)


def adopt_folder(name: str, folder: Path, splits: tuple[str, ...], how: str) -> dict | None:
    """Accept an ImageFolder tree the user placed (``<split>/<class>/*.jpg``)."""
    present = [s for s in splits if (folder / s).is_dir()]
    if not present:
        return None
    missing = [s for s in splits if s not in present]
    if missing:
        raise DataError(f"{folder} has {present} but not {missing}; expected {'/'.join(splits)} folders. {how}")
    for s in splits:
        if not any((folder / s).iterdir()):
            raise DataError(f"{folder / s} has no class folders. {how}")
    return write_manifest(folder, "image folders placed in the data root (real data)", "user", folder_files(folder))


def make_cats_dogs_standin(stage: Path, seed: int = 0) -> dict:
    """scikit-image's ``lfw_subset``: 100 real face crops and 100 non-face crops (25x25)."""
    import skimage

    arr = np.load(Path(skimage.data.__file__).parent / "lfw_subset.npy")
    rng = np.random.default_rng(seed)
    for label, block in (("face", arr[:100]), ("non_face", arr[100:])):
        order = rng.permutation(len(block))
        for rank, i in enumerate(order):
            split = "test" if rank < 20 else "train"
            img = np.rint(np.clip(block[i], 0, 1) * 255).astype(np.uint8)
            _save(np.stack([img] * 3, axis=-1), stage / split / label / f"{label}_{i:03d}.png")
    return write_manifest(stage, "STAND-IN (scikit-image lfw_subset: faces vs non-faces, real photos)",
                          STANDIN, folder_files(stage))


def _bird(rng, body, wing, size=224) -> np.ndarray:
    """A cartoon 'bird' (body, head, wing, beak) in class colours on a textured background."""
    from PIL import Image, ImageDraw

    bg_name = ["grass", "gravel", "brick", "moon"][rng.integers(4)]
    bg = photo(bg_name)
    y, x = rng.integers(0, bg.shape[0] - size), rng.integers(0, bg.shape[1] - size)
    canvas = Image.fromarray(np.stack([bg[y:y + size, x:x + size]] * 3, -1) // 2 + 60)
    draw = ImageDraw.Draw(canvas)
    cx, cy = rng.integers(80, 144, size=2)
    s = rng.uniform(0.8, 1.2)
    draw.ellipse([cx - 55 * s, cy - 35 * s, cx + 55 * s, cy + 35 * s], fill=tuple(body))
    draw.ellipse([cx + 35 * s, cy - 60 * s, cx + 75 * s, cy - 20 * s], fill=tuple(body))
    draw.polygon([(cx - 30 * s, cy - 10 * s), (cx + 25 * s, cy - 5 * s), (cx - 10 * s, cy + 30 * s)], fill=tuple(wing))
    draw.polygon([(cx + 75 * s, cy - 45 * s), (cx + 95 * s, cy - 38 * s), (cx + 73 * s, cy - 33 * s)], fill=(240, 200, 40))
    img = np.asarray(canvas).astype(np.int16) + rng.integers(-12, 13, size=(size, size, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


BIRD_SPLITS = {"train": 8, "valid": 2, "test": 2}  # images per class (the real set has ~130/5/5)


def make_birds_standin(stage: Path, seed: int = 100) -> dict:
    """100 'species' = 10 body colours x 10 wing colours, drawn on real textures, 224x224 JPEGs."""
    import colorsys

    rng = np.random.default_rng(seed)
    def palette(hue, value):
        return tuple(int(255 * c) for c in colorsys.hsv_to_rgb(hue / 10, 0.8, value))

    for k in range(100):  # bright body, dark wing: every (body, wing) pair is its own species
        body, wing = palette(k // 10, 0.95), palette(k % 10 + 0.5, 0.45)
        species = f"STANDIN {k:03d}"
        for split, n in BIRD_SPLITS.items():
            for i in range(n):
                _save(_bird(rng, body, wing), stage / split / species / f"{i + 1}.jpg")
    return write_manifest(stage, "STAND-IN (generated cartoon birds, Kaggle's folder layout)", STANDIN,
                          folder_files(stage))
