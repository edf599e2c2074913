"""Chapter 3's DCGAN is the same algorithm in PyTorch, TensorFlow and MXNet.

The networks come from the library (`dcgan_G`, `dcgan_D`, `init_dcgan`, saved by
chapters/03_dcgan.md); what is compared, and how, is in gan_edu.parity_chapters and
gan_edu.parity_table; the checks are parity_checks.py's. Keras holds the images as
NHWC, so the dense layers next to its Flatten / Reshape see the 64 x 7 x 7 maps in
another order: `gan_edu.parity.reorder_flattened`, tested here, moves those weights.
"""

import numpy as np
import pytest
from parity_checks import *  # noqa: F403  (the checks that every chapter passes)

from gan_edu.parity import channels_first, channels_last, reorder_flattened

CHAPTER = 3


def test_the_networks_have_the_chapters_parameters(table):
    assert {name: net.counts["pytorch"] for name, net in table.nets.items()} == \
        {"dcgan_G": 862_401, "dcgan_D": 837_025}


# ---- the parity helper for flattened maps ------------------------------------------

def test_channels_last_matches_a_keras_flatten():
    maps = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)   # NCHW
    torch_flat, keras_flat = maps.reshape(2, -1), maps.transpose(0, 2, 3, 1).reshape(2, -1)
    np.testing.assert_array_equal(channels_last(torch_flat, (3, 4, 5), axis=1), keras_flat)
    np.testing.assert_array_equal(channels_first(keras_flat, (3, 4, 5), axis=1), torch_flat)


def test_reordered_dense_weights_compute_the_same_function():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(4, 3, 4, 5))                      # NCHW
    weight = rng.normal(size=(7, 3 * 4 * 5))                  # dense after a flatten, (out, in)
    torch_out = maps.reshape(4, -1) @ weight.T
    keras_out = maps.transpose(0, 2, 3, 1).reshape(4, -1) @ channels_last(
        weight, (3, 4, 5), axis=1).T
    np.testing.assert_allclose(keras_out, torch_out, rtol=1e-12)
    # ... and a dense layer before a reshape: its output axis.
    weight = rng.normal(size=(3 * 4 * 5, 6))
    h = rng.normal(size=(4, 6))
    torch_maps = (h @ weight.T).reshape(4, 3, 4, 5)
    keras_maps = (h @ channels_last(weight, (3, 4, 5), axis=0).T).reshape(4, 4, 5, 3)
    np.testing.assert_allclose(keras_maps.transpose(0, 3, 1, 2), torch_maps, rtol=1e-12)


def test_reorder_flattened_round_trip_and_errors():
    rng = np.random.default_rng(1)
    arrays = [rng.normal(size=(5, 24)), rng.normal(size=(5,)), rng.normal(size=(24, 3))]
    where = [(0, 1), (2, 0)]
    keras = reorder_flattened(arrays, where, (2, 3, 4), to="NHWC")
    np.testing.assert_array_equal(keras[1], arrays[1])
    assert not np.array_equal(keras[0], arrays[0])
    for back, original in zip(reorder_flattened(keras, where, (2, 3, 4), to="NCHW"), arrays):
        np.testing.assert_array_equal(back, original)
    with pytest.raises(ValueError, match="entries"):
        channels_last(arrays[0], (2, 3, 5), axis=1)
    with pytest.raises(ValueError, match="layout"):
        reorder_flattened(arrays, where, (2, 3, 4), to="NWHC")
