"""chapter_table where the chapters import it from; it lives in gan_edu.parity."""
from gan_edu.parity import chapter_table  # noqa: F401
