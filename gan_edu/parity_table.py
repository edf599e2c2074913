"""Where the chapters import the parity table from: gan_edu.parity (to be removed)."""
from gan_edu.parity import chapter_table  # noqa: F401
