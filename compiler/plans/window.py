"""The sliding-window geometry of Conv and pooling, channels-last.

Every spatial kernel sees a 2-D problem: a 1-D window is a 2-D one of height 1
(``in_h = out_h = kernel_h = stride_h = 1``, no top padding).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from trigc.ir.graph import Node


@dataclass(frozen=True)
class WindowGeometry:
    """Input and output sizes, window, strides and zero padding of a channels-last
    sliding window. ``rank`` is the model's (1 or 2); dilation is always 1 (the
    importers refuse others). Output position (oh, ow), tap (kh, kw) reads input
    row ``oh * stride_h + kh - pad_top`` and column ``ow * stride_w + kw - pad_left``;
    taps outside the input read zero."""

    rank: int
    in_h: int
    in_w: int
    n_chan: int
    out_h: int
    out_w: int
    kernel_h: int
    kernel_w: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    pad_bottom: int
    pad_right: int
    dilation_h: int = 1
    dilation_w: int = 1
    channels_last: bool = True

    @property
    def taps(self) -> int:
        """Window elements per channel."""
        return self.kernel_h * self.kernel_w

    @property
    def positions(self) -> int:
        """Output positions (each runs the window's kernel once)."""
        return self.out_h * self.out_w

    def inside(self, oh: int, ow: int) -> np.ndarray:
        """(kernel_h, kernel_w) booleans: which taps of position (oh, ow) read the input."""
        ih = oh * self.stride_h + np.arange(self.kernel_h) - self.pad_top
        iw = ow * self.stride_w + np.arange(self.kernel_w) - self.pad_left
        return ((ih >= 0) & (ih < self.in_h))[:, None] & ((iw >= 0) & (iw < self.in_w))[None, :]

    def valid_counts(self) -> np.ndarray:
        """(out_h, out_w): taps of each output position that read the input."""
        return np.array([[int(self.inside(oh, ow).sum()) for ow in range(self.out_w)]
                         for oh in range(self.out_h)], dtype=np.int64).reshape(
                             self.out_h, self.out_w)

    def row_masks(self) -> Counter:
        """Distinct masks of the in-bounds rows of the flattened window (tap-major,
        ``n_chan`` rows per tap) over all output positions, with their counts."""
        masks: Counter = Counter()
        for oh in range(self.out_h):
            for ow in range(self.out_w):
                inside = self.inside(oh, ow).ravel()
                masks[tuple(np.repeat(inside, self.n_chan).tolist())] += 1
        return masks


def window_geometry(node: Node) -> WindowGeometry:
    """The geometry of a Conv or pooling node (channels-last input and output)."""
    a = node.attrs
    x, y = node.inputs[0], node.output
    nd = len(a.kernel_shape)
    begin, end = a.pads[:nd], a.pads[nd:] or (0,) * nd
    if nd == 1:
        return WindowGeometry(1, 1, x.shape[0], x.shape[-1], 1, y.shape[0], 1,
                              a.kernel_shape[0], 1, a.strides[0], 0, begin[0], 0, end[0],
                              channels_last=a.channels_last)
    return WindowGeometry(2, x.shape[0], x.shape[1], x.shape[-1], y.shape[0], y.shape[1],
                          a.kernel_shape[0], a.kernel_shape[1], a.strides[0], a.strides[1],
                          begin[0], begin[1], end[0], end[1], channels_last=a.channels_last)
