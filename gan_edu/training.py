"""Framework-neutral training helpers of the book.

The head below is written by hand; everything after the marker line is copied
from the chapters' `#@save training` cells by `make lib` (each block says where).
"""

# ---- Saved from the chapters by `make lib`: edit the chapters, not below. ----


# Defined in chapters/01_first_gan.md
def training_report(losses, examples, seconds):
    """Print the mean losses and the examples/sec; return what every train_<model>
    returns: speed (examples/sec), seconds, and the losses by name."""
    speed = examples / seconds
    print(", ".join(f"{name} {value:.3f}" for name, value in losses.items())
          + f", {speed:.1f} examples/sec, {seconds:.0f} sec")
    return dict(speed=speed, seconds=seconds, **losses)


# Defined in chapters/06_cyclegan_dualgan.md
class ImageBuffer:
    """CycleGAN's history of generated images (of any framework); random draws from a
    numpy generator, so that every framework draws the same."""

    def __init__(self, size, rng):
        self.size, self.rng, self.images = size, rng, []

    def query(self, images):
        """The images to show the discriminator instead of `images`, as a list."""
        out = []
        for image in images:
            if len(self.images) < self.size:   # filling up: keep it and show it
                self.images.append(image)
                out.append(image)
            elif self.rng.random() < 0.5:      # show an older image, keep the new one
                i = int(self.rng.integers(self.size))
                out.append(self.images[i])
                self.images[i] = image
            else:
                out.append(image)
        return out
