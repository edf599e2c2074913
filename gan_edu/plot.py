"""Figures for the book: live training curves and image grids, always as PNG.

Figures are built with matplotlib's object API (not pyplot), so the notebook's
inline backend never shows a second copy, and they are sent to the notebook as
PNG bytes (nbval would compare SVG text, and SVG bloats the notebooks).
"""

import io

import numpy as np
from matplotlib.figure import Figure


def _in_notebook():
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def png_bytes(fig, dpi=100):
    """Render a matplotlib figure to PNG bytes."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    return buffer.getvalue()


def show(fig, handle=None, path=None):
    """Show `fig` as PNG in a notebook (updating `handle` in place if given).

    Outside a notebook nothing is displayed; `path` writes the PNG to a file
    either way. Returns the display handle for later updates.
    """
    if path is not None:
        fig.savefig(path, format="png", bbox_inches="tight")
    if not _in_notebook():
        return handle
    from IPython.display import Image, display
    image = Image(data=png_bytes(fig), format="png")
    if handle is None:
        return display(image, display_id=True)
    handle.update(image)
    return handle


class Animator:
    """Line plots that grow while a model trains, redrawn in place.

    `add(x, ys)` appends one point to each line and redraws. Extra subplots
    (`ncols > 1`) are free for the caller to draw into, e.g. samples; call
    `draw()` after changing them. `path` also writes every redraw to a PNG file.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=(), xlim=None, ylim=None,
                 yscale="linear", fmts=("-", "m--", "g-.", "r:"), ncols=1,
                 figsize=(3.5, 2.5), path=None):
        self.fig = Figure(figsize=(figsize[0] * ncols, figsize[1]))
        self.axes = self.fig.subplots(1, ncols, squeeze=False)[0]
        self.config = dict(xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=ylim, yscale=yscale)
        self.legend, self.fmts, self.path = list(legend), fmts, path
        self.X, self.Y, self.handle = None, None, None

    def add(self, x, ys):
        ys = list(ys) if np.ndim(ys) else [ys]
        if self.X is None:
            self.X, self.Y = [[] for _ in ys], [[] for _ in ys]
        for i, y in enumerate(ys):
            if y is not None:
                self.X[i].append(float(x))
                self.Y[i].append(float(y))
        self._draw_lines()
        self.draw()

    def _draw_lines(self):
        ax = self.axes[0]
        ax.cla()
        for x, y, fmt in zip(self.X, self.Y, self.fmts):
            ax.plot(x, y, fmt)
        ax.set(**{k: v for k, v in self.config.items() if v is not None})
        if self.legend:
            ax.legend(self.legend)
        ax.grid(True)

    def draw(self):
        self.fig.tight_layout()
        self.handle = show(self.fig, self.handle, self.path)


RANGE_TOLERANCE = 1e-4  # float rounding at the ends of tanh / sigmoid, as in metrics


def _as_image_batch(images):
    """Grey images (N, H, W), (N, 1, H, W) or (N, H, W, 1) -> (N, H, W) in [0, 1].

    Pixels are floats in [-1, 1] (tanh output) or [0, 1] (sigmoid output); other
    values are refused, not clipped into a white or black picture.
    """
    images = np.asarray(images)
    if images.dtype.kind != "f":
        raise ValueError(f"expected float images in [-1, 1] or [0, 1], got dtype "
                         f"{images.dtype}; convert uint8 pixels (0..255) with "
                         "gan_edu.data.to_float(images) or images / 255")
    images = images.astype(np.float32)
    if images.size and not np.all(np.isfinite(images)):
        raise ValueError("images contain NaN or infinite values (did training diverge?)")
    if images.size and (images.min() < -1 - RANGE_TOLERANCE
                        or images.max() > 1 + RANGE_TOLERANCE):
        raise ValueError(f"image values should lie in [-1, 1] or [0, 1], got "
                         f"{images.min():.4g}..{images.max():.4g} (pixels 0..255: divide by 255)")
    if images.ndim == 4 and images.shape[1] == 1:
        images = images[:, 0]
    elif images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim != 3:
        raise ValueError(
            f"expected grey images shaped (N, H, W), (N, 1, H, W) or (N, H, W, 1); "
            f"got shape {images.shape}")
    if images.min() < 0:  # the generators' tanh range
        images = (images + 1) / 2
    return np.clip(images, 0, 1)


def image_grid(images, num_rows, num_cols, pad=2):
    """Tile images row by row into one array (white gaps), values in [0, 1]."""
    images = _as_image_batch(images)
    if len(images) < num_rows * num_cols:
        raise ValueError(f"need {num_rows * num_cols} images for a {num_rows}x{num_cols} "
                         f"grid, got {len(images)}")
    h, w = images.shape[1:]
    grid = np.ones((num_rows * (h + pad) - pad, num_cols * (w + pad) - pad), np.float32)
    for k in range(num_rows * num_cols):
        r, c = divmod(k, num_cols)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = images[k]
    return grid


def show_images(images, num_rows, num_cols, titles=None, scale=1.0, path=None):
    """Show a grid of grey images; `titles` labels the rows (one per row)."""
    images = _as_image_batch(images)
    grid = image_grid(images, num_rows, num_cols)
    h = images.shape[1]
    fig = Figure(figsize=(0.6 * num_cols * scale + (0.8 if titles else 0),
                          0.6 * num_rows * scale))
    ax = fig.subplots()
    ax.imshow(grid, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    if titles:
        ax.set_yticks([(h + 2) * r + h / 2 for r in range(num_rows)], list(titles))
    else:
        ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    show(fig, path=path)
    return fig
