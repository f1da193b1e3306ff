"""Settings of the simulated GelSight pad: geometry, gel mechanics, optics, noise and markers.

Frames: the *pad frame* has its origin at the centre of the gel's outer face (the finger's inner
face in the simulation), +z along the pad normal from the gel into the world (toward the object),
x along the image columns and y along the image rows. It is the frame of the sensor's camera
(OpenCV convention: x right, y down, z forward), which looks at the gel from behind. Pixel
``(row i, column j)`` sees the pad point ``((j - (W - 1) / 2) p, (i - (H - 1) / 2) p, 0)`` with
pixel pitch ``p``. Metres, newtons, pascals; image intensities are fractions in ``[0, 1]``.

The defaults are GelSight-like: a 16 × 12 mm pad imaged at 640 × 480 (25 µm per pixel, Taxim's
sensor has 29.5 µm), a 2 mm elastomer, three coloured lights 120° apart at a low elevation
(TACTO's red, green and blue), Phong shading with the parameters of Gomes et al. 2021, and a
grid of dark marker dots 1.2 mm apart.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["GelSightConfig"]


def _positive(value: object, name: str) -> float:
    ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if not ok or not np.isfinite(float(value)) or float(value) <= 0:  # type: ignore[arg-type]
        raise ValueError(f"GelSightConfig.{name}: expected a positive number, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _nonnegative(value: object, name: str) -> float:
    ok = isinstance(value, int | float | np.number) and not isinstance(value, bool)
    if not ok or not np.isfinite(float(value)) or float(value) < 0:  # type: ignore[arg-type]
        raise ValueError(f"GelSightConfig.{name}: expected a number >= 0, got {value!r}")
    return float(value)  # type: ignore[arg-type]


def _vectors(value: object, name: str, size: int) -> tuple[tuple[float, ...], ...]:
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != size or len(arr) == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(f"GelSightConfig.{name}: expected a non-empty (N, {size}) table of finite "
                         f"numbers, got {value!r}")
    return tuple(tuple(float(v) for v in row) for row in arr)


@dataclass(frozen=True)
class GelSightConfig:
    """One GelSight pad (module docstring for the frames).

    Attributes:
        pad_size: (width, height) of the sensing area (m): width along the image columns (the
            finger's length), height along the rows (the finger's height).
        resolution: (width, height) of the image (px). Both pitches must agree within 1 %.
        pad_offset: distance from the fingertip to the pad centre along the finger (m).
        gel_thickness: elastomer thickness (m); no indentation goes deeper.
        gel_modulus: foundation modulus of the elastomer (Pa): a pixel indented by ``h``
            pushes back with the pressure ``gel_modulus * h / gel_thickness`` (Winkler model),
            which turns the normal force into the pressing depth.
        shear_stiffness: tangential stiffness of the gel (N/m): the friction force moves the
            contact patch, and the markers in it, by ``force / shear_stiffness``.
        max_shear: largest tangential displacement (m).
        contact_tolerance: an object touching the finger (physics) indents the pad only if its
            surface comes this close to the gel face inside the pad (m).
        blur_sigmas: Gaussian blur scales (m) of the elastomer's smooth deformation, largest
            first (Taxim's pyramid of kernels 201 ... 5 px at 29.5 µm/px).
        light_directions: (L, 3) directions toward the lights in the camera-facing frame
            (x, y as the image, z toward the camera); normalised here.
        light_colors: (L, 3) RGB intensities of the lights.
        diffuse: Phong diffuse coefficient ``kd``.
        specular: Phong specular coefficient ``ks``.
        shininess: Phong exponent ``alpha``.
        background_color: RGB of the unlit-by-slope membrane, the base of the background.
        background_gradient: strength of the lights' colour gradient across the background.
        noise_std: standard deviation of the Gaussian pixel noise (fraction of full scale).
        markers: draw marker dots.
        marker_spacing: marker grid pitch (m).
        marker_radius: marker dot radius (m).
        marker_darkness: how much a marker darkens the image at its centre, in ``[0, 1]``.
        raycast_stride: cast one ray every ``stride`` pixels and interpolate the object's
            distance in between (1 = one ray per pixel).
        smooth_surface: press the Phong tessellation of the object mesh (smooth curved
            surfaces, sharp edges kept) instead of its flat facets.
    """

    pad_size: tuple[float, float] = (0.016, 0.012)
    resolution: tuple[int, int] = (640, 480)
    pad_offset: float = 0.0095
    gel_thickness: float = 0.002
    gel_modulus: float = 3.0e5
    shear_stiffness: float = 4000.0
    max_shear: float = 0.001
    contact_tolerance: float = 0.0015
    blur_sigmas: tuple[float, ...] = (0.8e-3, 0.4e-3, 0.2e-3, 0.1e-3, 0.05e-3)
    light_directions: tuple[tuple[float, ...], ...] = (
        (1.0, 0.0, 0.35), (-0.5, 0.866, 0.35), (-0.5, -0.866, 0.35))
    light_colors: tuple[tuple[float, ...], ...] = (
        (0.55, 0.08, 0.06), (0.06, 0.50, 0.10), (0.06, 0.12, 0.60))
    diffuse: float = 1.5
    specular: float = 0.25
    shininess: float = 5.0
    background_color: tuple[float, float, float] = (0.46, 0.48, 0.44)
    background_gradient: float = 0.10
    noise_std: float = 0.006
    markers: bool = True
    marker_spacing: float = 0.0012
    marker_radius: float = 0.00018
    marker_darkness: float = 0.75
    raycast_stride: int = 2
    smooth_surface: bool = True

    def __post_init__(self) -> None:
        size = tuple(_positive(v, "pad_size") for v in self.pad_size)
        res = tuple(self.resolution)
        if len(size) != 2 or len(res) != 2:
            raise ValueError("GelSightConfig: pad_size and resolution take two values (width, height)")
        if any(isinstance(r, bool) or not isinstance(r, int | np.integer) or r < 2 for r in res):
            raise ValueError(f"GelSightConfig.resolution: expected two integers >= 2, got {res!r}")
        pitch_x, pitch_y = size[0] / res[0], size[1] / res[1]
        if abs(pitch_x - pitch_y) > 0.01 * pitch_x:
            raise ValueError(f"GelSightConfig: pad_size {size} and resolution {res} give pixel "
                             f"pitches {pitch_x:.3g} and {pitch_y:.3g} m; they must agree")
        object.__setattr__(self, "pad_size", size)
        object.__setattr__(self, "resolution", (int(res[0]), int(res[1])))
        for name in ("pad_offset", "gel_thickness", "gel_modulus", "shear_stiffness",
                     "marker_spacing", "marker_radius", "shininess"):
            object.__setattr__(self, name, _positive(getattr(self, name), name))
        for name in ("max_shear", "contact_tolerance", "diffuse", "specular",
                     "background_gradient", "noise_std", "marker_darkness"):
            object.__setattr__(self, name, _nonnegative(getattr(self, name), name))
        sigmas = tuple(_positive(s, "blur_sigmas") for s in self.blur_sigmas)
        object.__setattr__(self, "blur_sigmas", tuple(sorted(sigmas, reverse=True)))
        dirs = _vectors(self.light_directions, "light_directions", 3)
        colors = _vectors(self.light_colors, "light_colors", 3)
        if len(dirs) != len(colors):
            raise ValueError(f"GelSightConfig: {len(dirs)} light directions but {len(colors)} colours")
        if any(d[2] <= 0 for d in dirs):
            raise ValueError("GelSightConfig.light_directions: every light needs z > 0 (in front "
                             "of the membrane)")
        object.__setattr__(self, "light_directions", dirs)
        object.__setattr__(self, "light_colors", colors)
        bg = _vectors([self.background_color], "background_color", 3)[0]
        object.__setattr__(self, "background_color", bg)
        if self.marker_darkness > 1:
            raise ValueError(f"GelSightConfig.marker_darkness: expected <= 1, got {self.marker_darkness}")
        stride = self.raycast_stride
        if isinstance(stride, bool) or not isinstance(stride, int | np.integer) or stride < 1:
            raise ValueError(f"GelSightConfig.raycast_stride: expected an integer >= 1, got {stride!r}")

    @property
    def pixel_pitch(self) -> float:
        """Size of one pixel on the pad (m)."""
        return self.pad_size[0] / self.resolution[0]

    @property
    def image_shape(self) -> tuple[int, int]:
        """(H, W) of the images."""
        return self.resolution[1], self.resolution[0]

    def with_resolution(self, width: int, height: int | None = None) -> GelSightConfig:
        """The same pad imaged at another size (smaller sizes for training).

        Args:
            width: image width (px).
            height: image height (px); default keeps the pad's aspect ratio.

        Returns:
            A new config; the pad size is unchanged, so the pixel pitch grows.

        >>> GelSightConfig().with_resolution(160).resolution
        (160, 120)
        """
        if height is None:
            height = int(round(width * self.pad_size[1] / self.pad_size[0]))
        return replace(self, resolution=(int(width), int(height)))

    def pixel_coordinates(self) -> tuple[np.ndarray, np.ndarray]:
        """Pad-frame coordinates (m) of the pixel centres: ``x`` (W,) and ``y`` (H,)."""
        width, height = self.resolution
        p = self.pixel_pitch
        return (np.arange(width) - (width - 1) / 2) * p, (np.arange(height) - (height - 1) / 2) * p
