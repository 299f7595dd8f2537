"""Checks for week 3's graded exercises: convolution and pooling from scratch, filters, activation maps.

Grouped by notebook (01 convolution from scratch, 02 filters, 03 visualising conv layers). Each
``check_<exercise>(student_fn, hidden=False)`` is written with the shared core
(:mod:`helpers.checks.core`): the student's function is called safely, its result compared in
float64 with ``torch.nn.functional`` (forward) and autograd (backward), and with a table of known
mistakes (a flipped kernel, missing padding, an ignored stride, a max-pool gradient sent to the
whole window, an average-pool gradient not divided by the window ...), so the failure names the
mistake. ``hidden=True`` adds shapes the notebooks do not show: odd and non-square sizes, stride 2
with padding, one channel and many, overlapping pooling windows, ties.

The layers follow ``helpers.scratch.conv``'s conventions: ``conv_forward(x, w, b, conv_param)``
with ``conv_param = {"stride": s, "pad": p}``, ``*_pool_forward(x, pool_param)`` with
``pool_param = {"pool_height": ph, "pool_width": pw, "stride": s}``, forward -> ``(out, cache)``,
backward ``(dout, cache)`` -> gradients.

The exercises whose answer is a result are records at the end of the module (``EXERCISES``,
:mod:`helpers.checks.records`): the layers' forward passes, their backward passes (run on the learner's own forward
pass's cache, :func:`~helpers.checks.records.forward_backward`), ``sobel_kernels``, ``apply_filter``, the convnet's
``convnet_loss`` (:func:`~helpers.checks.records.convnet_run`: its loss and six gradients, once more with the training's
layers passed in, against a NumPy reference tied to autograd in tests/test_checks_week3.py); so are the three
models of 04-06 (:mod:`helpers.checks.modules`: judged by what they compute with the reference's weights loaded in,
their checks adding the ValueErrors a model must raise). The mentee edition judges them against fixtures, without
their references. The other checks stay procedures, each saying why.
"""
from __future__ import annotations

import re
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .core import CheckFailure, call, check_output_shape, expect, isolated, unchanged
from .modules import Build, case
from .records import (Exercise, a_loss, activation, an_int, checks_of, convnet_run, epochs, forward_backward,
                      hooks_left)

__all__ = [
    "check_conv_forward", "check_conv_backward",
    "check_max_pool_forward", "check_max_pool_backward",
    "check_avg_pool_forward", "check_avg_pool_backward",
    "check_sobel_kernels", "check_apply_filter", "check_kernel_effect",
    "check_activation_maps",
]

RTOL, ATOL = 1e-7, 1e-10  # float64 against torch: a correct loop agrees to ~1e-15

_LOOPS = "write it with NumPy (loops, or slicing): "
_OWN = "helpers.scratch is the course's reference implementation of these layers: write your own"
FORBIDDEN = {  # exercise -> {dotted name: why}: what its answer may not call (read from its source by core.forbid)
    "layers": {"torch": _LOOPS + "torch (F.conv2d, F.max_pool2d, F.avg_pool2d, Tensor.unfold, autograd) is what "
                                 "the check compares your answer with",
               ".backward": "the backward pass is the exercise: route dout by hand, not with autograd",
               "scipy": _LOOPS + "scipy.signal / scipy.ndimage do the sliding window for you",
               "helpers.scratch": _OWN, "helpers.models": _OWN,
               "helpers.checks.records": "the checks' helpers (records.avg_pool_torch is PyTorch's pooling) are "
                                         "what your layer is compared with: write your own"},
    "apply_filter": {"torch": "pad and cross-correlate yourself (your loops from notebook 01, or "
                              "scratch.conv_forward_fast on the padded image): F.conv2d is what the check compares with",
                     "scipy": "pad and cross-correlate yourself: scipy.signal / scipy.ndimage pad for you",
                     "skimage": "pad and cross-correlate yourself, not with scikit-image"},
    "activation_maps": {"torchvision.models.feature_extraction": "the exercise is the forward hook: "
                                                                 "layer.register_forward_hook(...), then handle.remove()"},
    "early_stopping_epochs": {"helpers.callbacks": "EarlyStopping is what the check compares with: write the loop"},
    "label_smoothing_cross_entropy": {
        "torch.nn.functional.cross_entropy": "write the loss from log_softmax yourself: F.cross_entropy is what it "
                                             "is checked against",
        "torch.nn.CrossEntropyLoss": "write the loss from log_softmax yourself: nn.CrossEntropyLoss is what it is "
                                     "checked against"},
    "conv_output_size": {"torch": "compute the size with the formula, not by running a layer"},
}


def _windows(x, kh: int, kw: int, s: int | tuple = 1) -> np.ndarray:
    """Every kh x kw window of x's last two axes at stride s (or (sh, sw)): a view (..., H', W', kh, kw). The records'
    references are NumPy: an answer may not call torch or helpers.scratch, and a reference passes its own check."""
    sh, sw = (s, s) if isinstance(s, int) else s
    return np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(-2, -1))[..., ::sh, ::sw, :, :]


def _np(t) -> np.ndarray:
    return t.detach().double().numpy()


# --------------------------------------------------------------------------------------------
# 01 · convolution: forward and backward with naive loops
# --------------------------------------------------------------------------------------------

CONV_HINT = ("out[n, f, r, c] = sum(xp[n, :, r*s:r*s+HH, c*s:c*s+WW] * w[f]) + b[f], xp = x padded with `pad` "
             "zeros on every side, H' = (H + 2*pad - HH) // s + 1 (the kernel is NOT flipped, as in F.conv2d)")


def _conv_cases(hidden: bool):
    """(x shape, w shape, stride, pad, seed)."""
    cases = [((2, 3, 5, 5), (4, 3, 3, 3), 1, 1, 1), ((1, 2, 7, 7), (3, 2, 3, 3), 2, 1, 2)]
    if hidden:
        cases += [((2, 1, 7, 5), (2, 1, 3, 3), 2, 1, 3),     # odd, non-square, one channel, stride 2 + pad
                  ((1, 6, 6, 8), (5, 6, 3, 3), 1, 0, 4),     # many channels, no padding
                  ((3, 2, 9, 6), (2, 2, 5, 2), 1, 2, 5),     # non-square kernel, pad 2
                  ((1, 3, 8, 12), (4, 3, 2, 3), 3, 0, 6),    # stride 3, even kernel height
                  ((2, 4, 4, 4), (1, 4, 1, 1), 1, 0, 7)]     # a 1x1 convolution
    out = []
    for xs, ws, s, p, seed in cases:
        g = torch.Generator().manual_seed(100 + seed)
        x = torch.randn(*xs, generator=g, dtype=torch.float64)
        w = torch.randn(*ws, generator=g, dtype=torch.float64)
        b = torch.randn(ws[0], generator=g, dtype=torch.float64)
        out.append((x, w, b, s, p))
    return out


def _describe_conv(x, w, s, p) -> str:
    return f"x {tuple(x.shape)}, w {tuple(w.shape)}, stride {s}, pad {p}"


def _conv_forward_cases(hidden: bool):
    """The cases as ``conv_forward`` receives them: ``(x, w, b, conv_param)`` in NumPy float64."""
    return [(_np(x), _np(w), _np(b), {"stride": s, "pad": p}) for x, w, b, s, p in _conv_cases(hidden)]


def _conv(x, w, b, s, p, *, pad_mode="constant", size=None):
    """``(out, None)``: what F.conv2d(x, w, b, stride=s, padding=p) computes, like a layer's forward (only ``out`` is
    compared); ``pad_mode`` "edge" pads with copies of the border, ``size`` crops the output to (H', W')."""
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode=pad_mode)
    out = np.einsum("nchwij,fcij->nfhw", _windows(xp, w.shape[2], w.shape[3], s), w)
    out = out if b is None else out + b[:, None, None]
    return (out if size is None else out[:, :, :size[0], :size[1]]), None


CONV_BACK_HINT = ("every output (n, f, r, c) added w[f] * field: it sends dout[n, f, r, c] * w[f] back to its field "
                  "of the PADDED input (+=, fields overlap) and dout[n, f, r, c] * field to dw[f] (+=); "
                  "db = dout.sum(axis=(0, 2, 3)); finally cut the padding off dx so it has x's shape")


def _conv_fwd(x, w, b, conv_param):
    """The reference forward of the backward record: F.conv2d's output and the cache its backward reads."""
    return _conv(x, w, b, conv_param["stride"], conv_param["pad"])[0], (x, w, b, conv_param)


def _conv_grads(x, w, dout, s, p, *, flip=False, step=None):
    """(the gradient of the padded input, dw), one kernel offset (i, j) at a time: the inputs at offset (i, j) of every
    field (rows i, i + step, ...) met w[:, :, i, j]."""
    step = s if step is None else step
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    (hh, ww), (ho, wo) = w.shape[2:], dout.shape[2:]
    kernel = w[:, :, ::-1, ::-1] if flip else w
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(hh):
        for j in range(ww):
            at = (slice(None), slice(None), slice(i, i + step * (ho - 1) + 1, step), slice(j, j + step * (wo - 1) + 1, step))
            dxp[at] += np.einsum("nfhw,fc->nchw", dout, kernel[:, :, i, j])
            dw[:, :, i, j] = np.einsum("nfhw,nchw->fc", dout, xp[at])
    return dxp, dw


def _cropped(dxp, x, p):
    return dxp[:, :, p:p + x.shape[2], p:p + x.shape[3]]


def _conv_bwd(dout, cache):
    x, w, _, cp = cache
    dxp, dw = _conv_grads(x, w, dout, cp["stride"], cp["pad"])
    return _cropped(dxp, x, cp["pad"]), dw, dout.sum(axis=(0, 2, 3))


def _conv_slip(part, make):
    """A wrong conv_backward: the right gradients with one (0 dx, 1 dw, 2 db) replaced by ``make(x, w, dout, s, p)``."""
    def wrong(dout, cache):
        x, w, _, cp = cache
        got = list(_conv_bwd(dout, cache))
        got[part] = make(x, w, dout, cp["stride"], cp["pad"])
        return tuple(got)
    return wrong


def _conv_backward_loops(x, w, dout, s, p, *, add_dx=True, add_dw=True):
    """Loop backward with '=' instead of '+=' switchable (what an overwrite leaves depends on the loops' order)."""
    n, f, h_out, w_out = dout.shape
    hh, ww = w.shape[2:]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for k in range(f):
            for r in range(h_out):
                for c in range(w_out):
                    g = dout[i, k, r, c]
                    region = (i, slice(None), slice(r * s, r * s + hh), slice(c * s, c * s + ww))
                    if add_dx:
                        dxp[region] += g * w[k]
                    else:
                        dxp[region] = g * w[k]
                    if add_dw:
                        dw[k] += g * xp[region]
                    else:
                        dw[k] = g * xp[region]
    return _cropped(dxp, x, p), dw


CONV_BACK_MISTAKES = {   # why -> the wrong conv_backward (the reference forward's cache); equal to the right one where
    # a slip cannot show (pad 0, stride 1, a non-square kernel)
    "dx uses the flipped kernel: the forward pass multiplied each field by w[f] as it is, so the field's gradient is "
    "dout * w[f] (no flip)": _conv_slip(0, lambda x, w, d, s, p: _cropped(_conv_grads(x, w, d, s, p, flip=True)[0], x, p)),
    "fields overlap: ADD each output's contribution into dx (+=), don't overwrite it (=)":
        _conv_slip(0, lambda x, w, d, s, p: _conv_backward_loops(x, w, d, s, p, add_dx=False)[0]),
    "dx must have x's shape: cut the `pad` padded rows and columns off every side (dxp[:, :, pad:pad + H, pad:pad + W])":
        _conv_slip(0, lambda x, w, d, s, p: _conv_grads(x, w, d, s, p)[0]),
    "with pad = 0, dxp[:, :, pad:-pad, pad:-pad] is EMPTY (-0 is 0): slice dxp[:, :, pad:pad + H, pad:pad + W] instead":
        _conv_slip(0, lambda x, w, d, s, p: _conv_grads(x, w, d, s, p)[0][:, :, p:-p, p:-p]),
    "output (r, c) came from the field starting at (r * stride, c * stride): send its gradient back there":
        _conv_slip(0, lambda x, w, d, s, p: _cropped(_conv_grads(x, w, d, s, p, step=1)[0], x, p)),
    "dw[f] collects a contribution from every image and every position: add them up (+=), don't overwrite (=)":
        _conv_slip(1, lambda x, w, d, s, p: _conv_backward_loops(x, w, d, s, p, add_dw=False)[1]),
    "no 1/N in dw: dout already carries the loss's averaging":
        _conv_slip(1, lambda x, w, d, s, p: _conv_grads(x, w, d, s, p)[1] / x.shape[0]),
    "dw is transposed in its last two axes: dw[f, c, i, j] pairs with w[f, c, i, j]":
        _conv_slip(1, lambda x, w, d, s, p: (lambda dw: dw.transpose(0, 1, 3, 2) if w.shape[2] == w.shape[3] else dw)(
            _conv_grads(x, w, d, s, p)[1])),
    "use the field that produced the output: it starts at (r * stride, c * stride)":
        _conv_slip(1, lambda x, w, d, s, p: _conv_grads(x, w, d, s, p, step=1)[1]),
    "db SUMS dout over the images and positions (no mean)": _conv_slip(2, lambda x, w, d, s, p: d.mean(axis=(0, 2, 3))),
    "db has one entry per filter, shape (F,): sum over the images (axis 0) too":
        _conv_slip(2, lambda x, w, d, s, p: d.sum(axis=(2, 3))),
    "db has one entry per filter: sum dout over axes (0, 2, 3)": _conv_slip(2, lambda x, w, d, s, p: d.sum(axis=0)),
}


def _conv_backward_cases(hidden: bool):
    """``((x, w, b, conv_param), dout)``: the forward's inputs and an upstream gradient of its output's shape."""
    cases = []
    for x, w, b, s, p in _conv_cases(hidden):
        shape = (x.shape[0], w.shape[0], (x.shape[2] + 2 * p - w.shape[2]) // s + 1, (x.shape[3] + 2 * p - w.shape[3]) // s + 1)
        dout = torch.randn(*shape, generator=torch.Generator().manual_seed(int(x.numel())), dtype=torch.float64)
        cases.append(((_np(x), _np(w), _np(b), {"stride": s, "pad": p}), _np(dout)))
    return cases


# --------------------------------------------------------------------------------------------
# 01 · pooling: max and average, forward and backward
# --------------------------------------------------------------------------------------------

def _pool_cases(hidden: bool):
    """(x, pool height, pool width, stride)."""
    g = torch.Generator().manual_seed(31)
    cases = [(torch.randn(2, 3, 4, 4, generator=g, dtype=torch.float64), 2, 2, 2)]
    if hidden:
        ties = torch.randint(0, 3, (2, 2, 6, 6), generator=g).double()       # many equal maxima
        cases += [(torch.randn(1, 1, 5, 5, generator=g, dtype=torch.float64), 3, 3, 2),   # overlapping windows
                  (torch.randn(2, 2, 6, 8, generator=g, dtype=torch.float64), 2, 4, 2),   # non-square window
                  (torch.randn(1, 5, 4, 5, generator=g, dtype=torch.float64), 2, 2, 1),   # stride 1, many channels
                  (torch.randn(3, 1, 9, 6, generator=g, dtype=torch.float64), 3, 3, 3),   # odd, non-square image
                  (ties, 2, 2, 2)]
    return cases


def _pool_param(ph, pw, s) -> dict:
    return {"pool_height": ph, "pool_width": pw, "stride": s}


def _describe_pool(x, ph, pw, s) -> str:
    return f"x {tuple(x.shape)}, pool {ph}x{pw}, stride {s}"


def _pool_forward_cases(hidden: bool):
    """The cases as ``*_pool_forward`` receives them: ``(x, pool_param)``, x in NumPy float64."""
    return [(_np(x), _pool_param(ph, pw, s)) for x, ph, pw, s in _pool_cases(hidden)]


def _pooled(kind, x, ph, pw, sh, sw=None):
    """``(out, None)``, like a layer's forward: what F.max_pool2d / F.avg_pool2d(x, (ph, pw), stride=(sh, sw)) compute."""
    fields = _windows(x, ph, pw, (sh, sh if sw is None else sw))
    return (fields.max(axis=(-2, -1)) if kind == "max" else fields.mean(axis=(-2, -1))), None


def _pool_args(pool_param) -> tuple:
    return pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]


def _pool_answer(pool):
    """A pooling written on ``(x, ph, pw, s)`` as the exercise's answer: ``(x, pool_param) -> (out, None)``."""
    return lambda x, pool_param: pool(x, *_pool_args(pool_param))


def _pool_fwd(kind):
    """The reference forward of a pooling backward record: the pooled output and the cache its backward reads."""
    def forward(x, pool_param):
        return _pooled(kind, x, *_pool_args(pool_param))[0], (x, pool_param)
    return forward


def _max_bwd(dout, cache):
    """Each window's gradient to its first maximum (np.argmax's choice, torch's), added where windows overlap."""
    x, pool_param = cache
    ph, pw, s = _pool_args(pool_param)
    first = _windows(x, ph, pw, s).reshape(*dout.shape, ph * pw).argmax(axis=-1)
    n, c, r, q = np.indices(dout.shape)
    dx = np.zeros_like(x)
    np.add.at(dx, (n, c, r * s + first // pw, q * s + first % pw), dout)
    return dx


def _avg_bwd(dout, cache):
    """Each input of a window gets dout / (ph * pw), added where windows overlap."""
    x, pool_param = cache
    ph, pw, s = _pool_args(pool_param)
    (ho, wo), dx = dout.shape[2:], np.zeros_like(x)
    for i in range(ph):
        for j in range(pw):
            dx[:, :, i:i + s * (ho - 1) + 1:s, j:j + s * (wo - 1) + 1:s] += dout / (ph * pw)
    return dx


def _max_pool_backward_loops(x, dout, ph, pw, s, *, ties_all=False, add=True):
    n, c, h_out, w_out = dout.shape
    dx = np.zeros_like(x)
    for i in range(n):
        for k in range(c):
            for r in range(h_out):
                for q in range(w_out):
                    field = x[i, k, r * s:r * s + ph, q * s:q * s + pw]
                    if ties_all:
                        mask = field == field.max()
                    else:
                        mask = np.zeros(field.shape, dtype=bool)
                        mask[np.unravel_index(np.argmax(field), field.shape)] = True
                    region = dx[i, k, r * s:r * s + ph, q * s:q * s + pw]
                    if add:
                        region += mask * dout[i, k, r, q]
                    else:
                        region[mask] = dout[i, k, r, q]
    return dx


def _avg_assign(shape, dout, ph, pw, s):
    dx = np.zeros(shape)
    n, c, h_out, w_out = dout.shape
    for r in range(h_out):
        for q in range(w_out):
            dx[:, :, r * s:r * s + ph, q * s:q * s + pw] = dout[:, :, r, q][:, :, None, None] / (ph * pw)
    return dx


def _whole_window(dout, cache):
    ph, pw, _ = _pool_args(cache[1])
    return _avg_bwd(dout, cache) * ph * pw


def _pool_slip(loops):
    """A wrong pooling backward from a loop version on ``(x, dout, ph, pw, s)``."""
    return lambda dout, cache: loops(cache[0], dout, *_pool_args(cache[1]))


POOL_BACK_MISTAKES = {
    "max": {
        "only the maximum of each window receives its gradient: the other inputs did not affect the output, so their "
        "gradient is 0": _whole_window,
        "when several inputs tie for a window's maximum, send the gradient to ONE of them (the first, np.argmax's choice "
        "and torch's): giving it to all of them counts it twice":
            _pool_slip(lambda x, d, ph, pw, s: _max_pool_backward_loops(x, d, ph, pw, s, ties_all=True)),
        "windows overlap: ADD (+=) each window's gradient, don't overwrite (=)":
            _pool_slip(lambda x, d, ph, pw, s: _max_pool_backward_loops(x, d, ph, pw, s, add=False)),
        "the max passes its gradient on unchanged: no division by the window size (that is average pooling)":
            lambda dout, cache: _max_bwd(dout, cache) / np.prod(_pool_args(cache[1])[:2])},
    "avg": {
        "divide the gradient by the window size pool_height * pool_width: each input contributed 1 / (ph * pw) of the "
        "mean": _whole_window,
        "windows overlap: ADD (+=) each window's share, don't overwrite (=)":
            _pool_slip(lambda x, d, ph, pw, s: _avg_assign(x.shape, d, ph, pw, s))},
}

POOL_BACK_HINTS = {
    "max": "each window's gradient dout[n, c, r, q] goes to the position of its maximum only (the first one if several "
           "tie, as in torch), added (+=) where windows overlap",
    "avg": "every input of a window receives dout[n, c, r, q] / (pool_height * pool_width), added (+=) where windows "
           "overlap"}


def _pool_backward_cases(hidden: bool):
    """``((x, pool_param), dout)``: the forward's inputs and an upstream gradient of its output's shape."""
    cases = []
    for x, ph, pw, s in _pool_cases(hidden):
        shape = (*x.shape[:2], (x.shape[2] - ph) // s + 1, (x.shape[3] - pw) // s + 1)
        dout = torch.randn(*shape, generator=torch.Generator().manual_seed(int(x.numel()) + 7), dtype=torch.float64)
        cases.append(((_np(x), _pool_param(ph, pw, s)), _np(dout)))
    return cases


def _pool_backward_record(kind):
    return Exercise(
        f"{kind}_pool_backward", answers=(f"{kind}_pool_forward", f"{kind}_pool_backward"), run=forward_backward,
        reference=(_pool_fwd(kind), _max_bwd if kind == "max" else _avg_bwd), cases=_pool_backward_cases,
        hint=POOL_BACK_HINTS[kind], mistakes=POOL_BACK_MISTAKES[kind], forbidden=FORBIDDEN["layers"], **LAYER_TOL,
        describe=lambda inputs, dout: f"dx for {_describe_pool(inputs[0], *_pool_args(inputs[1]))}",
        in_place="dout is the upstream gradient: read it, leave it as it is")


# --------------------------------------------------------------------------------------------
# 02 · filters: Sobel kernels, "same" filtering, what a kernel does to a flat image
# --------------------------------------------------------------------------------------------

SOBEL_X = np.array([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])
SOBEL_Y = SOBEL_X.T.copy()
SOBEL_HINT = ("for a cross-correlation (F.conv2d, apply_filter): kx = [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]] is "
              "positive where the image gets brighter to the RIGHT, ky = kx.T where it gets brighter DOWNWARDS")


SOBEL_MISTAKES = {   # why -> the wrong answer, returning (kx, ky); ky is kx.T, so transposing both is swapping them
    "kx and ky are swapped (or transposed, which is the same for these kernels): kx differentiates along x (the "
    "columns, left to right) and has its -1, -2, -1 in the left COLUMN, ky along y (rows, top to bottom) with them in "
    "the top ROW": lambda: (SOBEL_Y, SOBEL_X),
    "the sign is flipped: this is the kernel for a true convolution (scipy.ndimage.convolve flips it back). For a "
    "cross-correlation the +1, +2, +1 sit on the brighter side: right for kx, bottom for ky": lambda: (-SOBEL_X, -SOBEL_Y),
    "wrong orientation and sign: kx's -1, -2, -1 form the left column": lambda: (-SOBEL_Y, -SOBEL_X),
    "the middle row/column of a Sobel kernel is weighted 2 (smoothing [1, 2, 1]); [1, 1, 1] is the Prewitt kernel":
        lambda: (np.sign(SOBEL_X), np.sign(SOBEL_Y)),
    "use the integer weights; the notebook divides by 4 (skimage's normalisation) later": lambda: (SOBEL_X / 4, SOBEL_Y / 4),
    "use the integer weights, not divided by 8": lambda: (SOBEL_X / 8, SOBEL_Y / 8),
}


FILTER_HINT = ("out = cross-correlation of the (float) image with the kernel after padding kh // 2 rows and kw // 2 "
               "columns of zeros on each side, so out has the image's shape (H, W) ('same' padding); no flip")


def _filter_cases(hidden: bool):
    rng = np.random.default_rng(41)
    asym = np.array([[1.0, 2.0, 0.0], [0.0, -1.0, 3.0], [-2.0, 0.0, 1.0]])
    cases = [(rng.normal(size=(6, 6)), asym)]
    if hidden:
        cases += [(rng.normal(size=(7, 11)), rng.normal(size=(5, 5))),        # odd, non-square image, 5x5
                  (rng.normal(size=(9, 8)), rng.normal(size=(3, 5))),          # non-square kernel
                  (rng.normal(size=(5, 6)), np.array([[1.0, 0.0, -1.0]])),     # a 1x3 kernel
                  (rng.integers(0, 256, size=(8, 7)).astype(np.uint8), asym),  # a uint8 image
                  (rng.normal(size=(4, 4)), np.array([[2.0]]))]                # a 1x1 kernel
    return cases


def _filtered(image, kernel, *, pad=None, flip=False, edge=False, keep_dtype=False) -> np.ndarray:
    """apply_filter's reference: the cross-correlation of the image (as float64) with the kernel, zero 'same' padding;
    or, switched, a known mistake: ``pad`` = (rows, columns), the kernel flipped, edge copies as padding, the result
    cast back to the image's dtype."""
    kh, kw = kernel.shape
    ph, pw = (kh // 2, kw // 2) if pad is None else pad
    padded = np.pad(np.asarray(image, dtype=np.float64), ((ph, ph), (pw, pw)), mode="edge" if edge else "constant")
    out = np.einsum("hwij,ij->hw", _windows(padded, kh, kw), kernel[::-1, ::-1] if flip else kernel)
    return out.astype(image.dtype) if keep_dtype else out


NOT_SQUARE = "pad the rows by kh // 2 and the columns by kw // 2: this kernel is not square"
FILTER_MISTAKES = {
    "the kernel is flipped: apply_filter (like F.conv2d and nn.Conv2d) computes a cross-correlation, "
    "sum(window * kernel), without flipping": lambda image, kernel: _filtered(image, kernel, flip=True),
    "no padding: the output should keep the image's shape (H, W), so pad kh // 2 rows and kw // 2 columns of zeros "
    "on each side": lambda image, kernel: _filtered(image, kernel, pad=(0, 0)),
    NOT_SQUARE + " (not kh // 2 on all four sides)":
        lambda image, kernel: _filtered(image, kernel, pad=(kernel.shape[0] // 2,) * 2),
    NOT_SQUARE + " (not kw // 2 on all four sides)":
        lambda image, kernel: _filtered(image, kernel, pad=(kernel.shape[1] // 2,) * 2),
    "pad with zeros (as nn.Conv2d(padding=...) does), not with copies of the edge pixels":
        lambda image, kernel: _filtered(image, kernel, edge=True),
    "convert the image to float first: uint8 arithmetic wraps negative responses around (-1 becomes 255)":
        lambda image, kernel: _filtered(image, kernel, keep_dtype=True),
}


EFFECTS = ("zero", "keep", "scale")
EFFECT_HINT = ("filter a flat (constant) image and look at a pixel away from the border: every output is "
               "level * kernel.sum(), so return 'zero' if the kernel sums to 0 (a flat image goes to 0), 'keep' if "
               "it sums to 1 (a flat image is unchanged) and 'scale' otherwise; the sums are floats, so compare "
               "with a tolerance (np.isclose(total, 1.0), np.isclose(total, 0.0, atol=1e-9))")


def _effect_cases(hidden: bool):
    g = np.random.default_rng(51)
    cases = [np.array([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]),   # sum 0
             np.array([[0.3, 0.6, 0.1]]),                                     # sums to 0.9999999999999999
             np.array([[0.1, 0.2, -0.3]]),                                    # sums to 5.6e-17
             np.array([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]])]     # sum 16
    if hidden:
        r = g.normal(size=(5, 5))
        pos = g.uniform(0.1, 1.0, size=(7, 7))
        cases += [r - r.mean(),                                              # a random zero-sum kernel
                  pos / pos.sum(),                                            # a random normalised kernel
                  np.array([[-2.0, -1.0, 0.0], [-1.0, 1.0, 1.0], [0.0, 1.0, 2.0]]),   # emboss: sum 1
                  np.array([[0.1] * 10]),                                     # 1 x 10, sums to 1 - 1e-16
                  np.array([[1.0, -2.0, 1.0]]),                               # second difference: sum 0
                  -np.eye(3) / 3,                                             # sum -1
                  np.array([[0.0, 0.0, 0.0], [0.0, 0.5, 0.0], [0.0, 0.0, 0.0]]),      # sum 0.5: darkens
                  np.array([[0.2, 0.2, 0.2], [0.2, 0.3, 0.2], [0.2, 0.2, 0.2]]),      # sum 1.9
                  np.array([[0.5, 0.504]]), np.array([[0.5, -0.496]])]                # sums 1.004, 0.004: scale
    return cases


def _label(total: float) -> str:
    return "zero" if abs(total) < 1e-9 else "keep" if abs(total - 1) < 1e-9 else "scale"


def _exact_label(total: float) -> str:
    return "zero" if total == 0 else "keep" if total == 1 else "scale"


# procedural: a label judged over all kernels at once (its mistakes differ only as patterns across the list)
@isolated
def check_kernel_effect(kernel_effect, hidden: bool = False) -> None:
    """``kernel_effect(kernel) -> 'zero' | 'keep' | 'scale'``: what the kernel does to a flat image."""
    kernels = _effect_cases(hidden)
    got = []
    for k in kernels:
        k_in = k.copy()
        answer = call(kernel_effect, k_in, hint=EFFECT_HINT)
        unchanged(k, k_in, "kernel_effect changed the kernel in place")
        expect(isinstance(answer, str) and answer in EFFECTS,
               f"kernel_effect should return one of {EFFECTS}, got {answer!r}")
        got.append(answer)
    want = [_label(k.sum()) for k in kernels]
    if got == want:
        return
    corner = [_label(k[k.shape[0] // 2:, k.shape[1] // 2:].sum()) for k in kernels]   # top-left pixel, zero padding
    mistakes = [([_exact_label(float(np.sum(k))) for k in kernels],
                 "the sums are floating-point numbers: the weights 0.3, 0.6 and 0.1 add up to 0.9999999999999999, "
                 "not exactly 1. Compare with a tolerance, np.isclose(total, 1.0) and "
                 "np.isclose(total, 0.0, atol=1e-9)"),
                ([_label(np.abs(k).sum()) for k in kernels],
                 "add the SIGNED weights: in a zero-sum kernel (edges, Laplacian) positive and negative weights cancel"),
                ([_label(k.mean()) for k in kernels],
                 "use the kernel's SUM, not its mean: each output pixel of a flat image is level * sum of the weights"),
                (corner, "you looked at a border pixel, where the zero padding hides part of the kernel: look at a "
                         "pixel at least kh // 2 rows and kw // 2 columns away from the border")]
    for wrong, why in mistakes:
        if wrong != want and got == wrong:
            raise CheckFailure(f"kernel_effect is wrong: {why}")
    bad = next(i for i, (a, b) in enumerate(zip(got, want)) if a != b)
    raise CheckFailure(f"for the kernel {np.array2string(kernels[bad], precision=3)} (sum "
                       f"{kernels[bad].sum():.3g}) kernel_effect returned {got[bad]!r}, expected {want[bad]!r}. "
                       f"{EFFECT_HINT}")


# --------------------------------------------------------------------------------------------
# 03 · visualising conv layers: a named layer's activation through a forward hook
# --------------------------------------------------------------------------------------------

HOOK_HINT = ("layer = dict(model.named_modules())[layer_name] (nested names such as 'features.0' are in "
             "model.named_modules(), not in model.named_children(); raise a ValueError listing the valid names if it is "
             "missing); handle = layer.register_forward_hook(lambda module, inputs, output: saved.append(output)); "
             "run model(x) under torch.no_grad() inside try, handle.remove() in finally; return saved[0] (detached)")


def _hook_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(OrderedDict([
        ("features", nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Sequential(OrderedDict([("conv", nn.Conv2d(3, 4, 3)), ("act", nn.Tanh())])))),
        ("classifier", nn.Sequential(nn.Flatten(), nn.Linear(4 * 2 * 2, 5))),
    ])).eval()


def _expected_activation(model, x, name):
    saved = {}
    layer = dict(model.named_modules())[name]
    handle = layer.register_forward_hook(lambda m, i, o: saved.update(out=o.detach().clone()))  # returns None:
    # a hook that returns a value replaces the layer's output
    try:
        with torch.no_grad():
            final = model(x)
    finally:
        handle.remove()
    inputs = {}
    handle = layer.register_forward_hook(lambda m, i, o: inputs.update(value=i[0].detach().clone()))
    try:
        with torch.no_grad():
            model(x)
    finally:
        handle.remove()
    return saved["out"], inputs["value"], final


def _hook_cases(hidden):
    """(the hook model, a batch, a layer name): nested names and whole blocks in the hidden cases."""
    model = _hook_model(61)
    x = torch.randn(2, 1, 8, 8, generator=torch.Generator().manual_seed(62))
    names = ["features.0", "features"]
    if hidden:
        names += ["features.2", "features.3.conv", "features.3.act", "classifier.1", "classifier"]
    return [(model, x, name) for name in names]


HOOK_MISTAKES = {
    "this is the layer's INPUT: a forward hook is called as hook(module, inputs, output); keep `output`":
        lambda model, x, name: _expected_activation(model, x, name)[1],
    "this is the model's final output: register the hook on the named layer and keep what the hook receives":
        lambda model, x, name: _expected_activation(model, x, name)[2],
}


def _switch(on, module) -> nn.Module:
    return module if on else nn.Identity()


# ============================================================================================
# 04 · the classic MNIST MLP and early stopping; 06 · the modified LeNet-5
# ============================================================================================

__all__ += ["check_mnist_mlp", "check_early_stopping_epochs", "check_conv_output_size", "check_lenet5"]

MLP_HINT = ("MnistMLP(hidden=512, p_drop=0.2): flatten (N, 1, 28, 28) or (N, 784) to (N, 784), then "
            "Linear(784, hidden) -> ReLU -> Dropout(p_drop) -> Linear(hidden, hidden) -> ReLU -> Dropout(p_drop) "
            "-> Linear(hidden, 10), returning the logits (no softmax: F.cross_entropy applies log-softmax itself)")


def _mlp(hidden, p_drop, *, drops=(0, 1, 1, 0), act=nn.ReLU, out=()):
    """The reference MLP; ``drops``: dropout on the input, after each hidden ReLU, on the logits."""
    d = [_switch(on, nn.Dropout(p_drop)) for on in drops]
    return nn.Sequential(nn.Flatten(), d[0], nn.Linear(784, hidden), act(), d[1], nn.Linear(hidden, hidden), act(), d[2],
                         nn.Linear(hidden, 10), d[3], *out)


PROBS = "the model returns probabilities: return the logits (no softmax), F.cross_entropy applies log-softmax itself"


def _mlp_with(**change):
    return lambda hidden=512, p_drop=0.2: _mlp(**{"hidden": hidden, "p_drop": p_drop, **change})


MLP_MISTAKES = {
    PROBS: _mlp_with(out=(nn.Softmax(1),)),
    "the model returns log-probabilities: return the raw logits for F.cross_entropy": _mlp_with(out=(nn.LogSoftmax(1),)),
    "no ReLU between the Linear layers: without it the MLP is one linear map": _mlp_with(act=nn.Identity),
    "sigmoid instead of ReLU": _mlp_with(act=nn.Sigmoid),
    "a ReLU after the output layer: logits must be free to be negative": _mlp_with(out=(nn.ReLU(),)),
    "no dropout: put an nn.Dropout(p_drop) after each hidden ReLU": _mlp_with(drops=(0, 0, 0, 0)),
    "dropout is applied to the logits: put it after the hidden layers' ReLUs, not after the output layer":
        _mlp_with(drops=(0, 0, 0, 1)),
    "the first hidden layer has no dropout: nn.Dropout(p_drop) after EACH hidden ReLU": _mlp_with(drops=(0, 0, 1, 0)),
    "the second hidden layer has no dropout: nn.Dropout(p_drop) after EACH hidden ReLU": _mlp_with(drops=(0, 1, 0, 0)),
    "no dropout on the input pixels: only after the two hidden ReLUs": _mlp_with(drops=(1, 1, 1, 0)),
    "use the p_drop argument, not a fixed 0.2": _mlp_with(p_drop=0.2),
}


def _mlp_cases(hidden):
    rows = [(512, 0.2)] + ([(64, 0.5), (17, 0.3)] if hidden else [])
    return [case(hidden=h, p_drop=p, x=(6, 1, 28, 28), draw="uniform", seed=40 + h) for h, p in rows]


def _expect_value_error(fn, x, what: str, expected: str) -> None:
    try:
        fn(x)
    except NotImplementedError as err:
        raise CheckFailure("this exercise is not answered yet: replace `raise NotImplementedError()`") from err
    except ValueError as err:
        named = {"shape", *(n for n in re.findall(r"\d+", expected) if n != "1")}
        expect(any(s in str(err) for s in named),
               f"the ValueError for {what} should name the expected shape {expected}, got: {str(err)[:200]}")
        return
    except Exception as err:  # noqa: BLE001 - a crash deep inside the model is not a clear error
        raise CheckFailure(f"for {what} the model raised {type(err).__name__} ({str(err)[:120]}), not a ValueError "
                           f"naming the expected shape {expected}: check x.shape at the top of forward") from err
    raise CheckFailure(f"the model accepted {what}: raise a ValueError naming the expected shape {expected}")


STOP_HINT = ("as helpers.callbacks.EarlyStopping(monitor, patience): epochs count from 1; an epoch improves only if "
             "its loss is strictly below the best so far (a tie is not progress); training stops at the first epoch "
             "that is `patience` epochs after the best one; best_epoch is the best epoch among those trained; "
             "stop_epoch is None if training never stops")


def _stop_reference(losses, patience):
    """(best_epoch, stop_epoch) as helpers.callbacks.EarlyStopping decides them."""
    from ..callbacks import EarlyStopping, Run
    from ..history import History

    stopper, history = EarlyStopping("val_loss", patience=patience), History()
    run = Run(model=None, optimizer=None, history=history)
    for epoch, value in enumerate(losses, 1):
        history.log("val_loss", float(value))
        run.epoch = epoch
        stopper.on_epoch_end(run)
        if run.stop:
            return stopper.best_epoch, epoch
    return stopper.best_epoch, None


def _stop_variant(losses, patience, *, strict=True, stop_after=None):
    """A hand-written early stopping with one thing changed: ties as progress, or stop when wait == stop_after."""
    best, best_epoch, wait = float("inf"), None, 0
    for epoch, loss in enumerate(losses, 1):
        if loss < best or (not strict and loss <= best):
            best, best_epoch, wait = loss, epoch, 0
        else:
            wait += 1
            if wait >= (patience if stop_after is None else stop_after):
                return best_epoch, epoch
    return best_epoch, None


def _first_best(losses):
    return int(np.argmin(losses)) + 1


STOP_MISTAKES = {   # why -> a wrong early_stopping_epochs; one equal to the right answer on a case never fires there
    "best_epoch is the best of the epochs TRAINED: after the stop the later losses are never seen":
        lambda losses, patience: (_first_best(losses), _stop_reference(losses, patience)[1]),
    "a tie is not an improvement: keep the FIRST epoch that reached the lowest loss, and count a tie as no progress":
        lambda losses, patience: _stop_variant(losses, patience, strict=False),
    "stopped one epoch late: stop when the epochs without improvement reach patience (>=), not when they exceed it":
        lambda losses, patience: _stop_variant(losses, patience, stop_after=patience + 1),
    "epochs count from 1 (the first epoch is epoch 1, as in fit's epoch lines)":
        lambda losses, patience: tuple(None if e is None else e - 1 for e in _stop_reference(losses, patience)),
    "training should stop here: `patience` epochs without improvement end the run":
        lambda losses, patience: (_first_best(losses), None),
    "stopped one epoch early: training stops `patience` epochs AFTER the best epoch":
        lambda losses, patience: _stop_variant(losses, patience, stop_after=max(1, patience - 1)),
}


def _stop_cases(hidden):
    cases = [([0.9, 0.7, 0.6, 0.62, 0.61, 0.65, 0.66, 0.5], 3), ([0.9, 0.8, 0.7, 0.6], 2)]
    if hidden:
        cases += [([0.5, 0.5, 0.5, 0.4], 2),                 # ties are not progress
                  ([0.5, 0.4, 0.4, 0.45, 0.3], 3),           # a tie with the best, then a late gain
                  ([1.0], 1), ([1.0, 1.1], 1),               # one epoch; patience 1
                  ([0.8, 0.9, 0.7, 0.95, 0.96, 0.2], 2),     # the better epoch after the stop is never seen
                  ([0.5, 0.499, 0.498, 0.497], 2)]           # any decrease is progress (no min_delta)
    return cases


SIZE_HINT = ("out = (size + 2 * padding - kernel) // stride + 1, an int; a kernel that does not fit in the padded "
             "input raises a ValueError: raise only when kernel > size + 2 * padding")


def _size_cases(hidden):
    """((size,), the keyword arguments kernel, stride, padding): kernels that fit (the ValueError is asked apart)."""
    cases = [(28, 5, 1, 2), (28, 2, 2, 0), (10, 5, 1, 0)]
    if hidden:
        cases += [(14, 5, 1, 0), (5, 5, 1, 0), (32, 3, 2, 1), (7, 2, 2, 0), (227, 11, 4, 0), (9, 3, 3, 1),
                  (3, 5, 1, 1), (2, 3, 2, 1), (12, 3, 3, 2)]   # kernels larger than the input that fit once padded
    return [((size,), dict(kernel=k, stride=s, padding=p)) for size, k, s, p in cases]


def _conv_size(size, *, kernel, stride=1, padding=0) -> int:
    """What nn.Conv2d gives (tests/test_checks_week3.py checks it against the layer)."""
    return (size + 2 * padding - kernel) // stride + 1


SIZE_MISTAKES = {
    "forgot the + 1: a kernel as large as the input still gives one output":
        lambda size, *, kernel, stride, padding: (size + 2 * padding - kernel) // stride,
    "padding is added on BOTH sides: + 2 * padding":
        lambda size, *, kernel, stride, padding: (size + padding - kernel) // stride + 1,
    "the stride is ignored: divide by it": lambda size, *, kernel, stride, padding: size + 2 * padding - kernel + 1,
    "round down (//), a window must fit entirely":
        lambda size, *, kernel, stride, padding: -(-(size + 2 * padding - kernel) // stride) + 1,
}


LENET_HINT = ("ModifiedLeNet5(pool='max', activation='relu') with children named c1, s2, c3, s4, c5, f6, output: "
              "C1 Conv2d(1, 6, 5, padding=2) + activation, S2 pool 2x2, C3 Conv2d(6, 16, 5) + activation, S4 pool 2x2, "
              "C5 Conv2d(16, 120, 5) + activation, F6 Linear(120, 84) + activation (flatten before it), "
              "output Linear(84, 10) (logits); pool='avg' uses AvgPool2d(2), activation='tanh' uses Tanh")
LENET_NAMES = ("c1", "s2", "c3", "s4", "c5", "f6", "output")
POOLS, ACTIVATIONS = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}, {"relu": nn.ReLU, "tanh": nn.Tanh}


def _lenet(pool="max", activation="relu", *, pad=2, k5=5, acts=(1, 1, 1, 1), extra=(), out=()):
    """The reference (helpers.models.lenet5 with a choice of pooling and activation), with switches for mistakes."""
    P, a = POOLS[pool], [_switch(on, ACTIVATIONS[activation]()) for on in acts]
    return nn.Sequential(OrderedDict(
        c1=nn.Sequential(nn.Conv2d(1, 6, 5, padding=pad), a[0]), s2=P(2), c3=nn.Sequential(nn.Conv2d(6, 16, 5), a[1]),
        s4=P(2), c5=nn.Sequential(nn.Conv2d(16, 120, k5), a[2]),
        f6=nn.Sequential(nn.Flatten(), nn.Linear(120, 84), a[3], *extra), output=nn.Sequential(nn.Linear(84, 10), *out)))


def _lenet_with(**change):
    return lambda pool="max", activation="relu": _lenet(**{"pool": pool, "activation": activation, **change})


PAD = "pad C1 by 2 pixels (the paper's 32x32 input): C1 outputs 6@28x28, C5's 5x5 kernel sees 5x5 maps"
LENET_MISTAKES = {
    "the defaults are the modified network: pool='max', activation='relu'":    # wrong only when called without them
        lambda pool="avg", activation="relu": _lenet(pool, activation),
    PAD: _lenet_with(pad=0, k5=4),
    PAD + " (C5 keeps its 5x5 kernel)": _lenet_with(pad=0),
    "pool='max' should use MaxPool2d and pool='avg' should use AvgPool2d in S2 and S4":
        lambda pool="max", activation="relu": _lenet({"max": "avg", "avg": "max"}[pool], activation),
    "activation='relu' should use nn.ReLU and activation='tanh' should use nn.Tanh after C1, C3, C5 and F6":
        lambda pool="max", activation="relu": _lenet(pool, {"relu": "tanh", "tanh": "relu"}[activation]),
    "F6 needs its activation too (Linear(120, 84) -> activation)": _lenet_with(acts=(1, 1, 1, 0)),
    "C5 needs its activation too (Conv2d(16, 120, 5) -> activation)": _lenet_with(acts=(1, 1, 0, 1)),
    "the model returns probabilities: return logits (no softmax)": _lenet_with(out=(nn.Softmax(1),)),
    "the modified LeNet-5 has no dropout: F6 -> activation -> output": _lenet_with(extra=(nn.Dropout(0.5),)),
}


def _lenet_cases(hidden):
    rows = [("max", "relu"), ("avg", "tanh")] + ([("max", "tanh"), ("avg", "relu")] if hidden else [])
    return [case(pool=pool, activation=act, x=(4, 1, 28, 28), seed=66) for pool, act in rows] + \
        [case(x=(4, 1, 28, 28), seed=66)]                                 # the defaults: the modified network


# --------------------------------------------------------------------------------------------
# 05 · a CNN for CIFAR-10-sized images; label-smoothed cross-entropy from scratch
# --------------------------------------------------------------------------------------------

__all__ += ["check_cifar_cnn", "check_label_smoothing"]

CNN_HINT = ("CifarCNN(in_channels=3, num_classes=10, width=16, hidden=500, p_drop=0.25, image_size=32): three blocks "
            "Conv2d(k=3, padding=1) -> ReLU -> MaxPool2d(2) with width, 2*width, 4*width channels (each halves the "
            "map: image_size // 8 after three), then Flatten -> Dropout(p_drop) -> Linear(4*width*(image_size//8)**2, "
            "hidden) -> ReLU -> Dropout(p_drop) -> Linear(hidden, num_classes), logits")


def _cnn(in_channels=3, num_classes=10, width=16, hidden=500, p_drop=0.25, image_size=32, *, pad=1, relus=(1, 1, 1, 1),
         drops=(1, 1), pool=nn.MaxPool2d, out=()):
    """The reference CifarCNN; ``relus``: after each block's conv and the hidden Linear; ``drops``: before each Linear."""
    layers, c = [], in_channels
    for on, c_out in zip(relus, (width, 2 * width, 4 * width)):
        layers += [nn.Conv2d(c, c_out, 3, padding=pad), _switch(on, nn.ReLU()), pool(2)]
        c = c_out
    d = [_switch(on, nn.Dropout(p_drop)) for on in drops]
    return nn.Sequential(*layers, nn.Flatten(), d[0], nn.Linear(c * (image_size // 8) ** 2, hidden),
                         _switch(relus[3], nn.ReLU()), d[1], nn.Linear(hidden, num_classes), *out)


def _cnn_with(**change):
    return lambda **options: _cnn(**{**options, **change})


CNN_MISTAKES = {
    "padding=1 in every 3x3 conv keeps the map's size, so three 2x2 pools leave image_size // 8": _cnn_with(pad=0),
    "the model returns probabilities: return logits (F.cross_entropy applies log-softmax)": _cnn_with(out=(nn.Softmax(1),)),
    "max pooling: nn.MaxPool2d(2) ends each block, not average pooling": _cnn_with(pool=nn.AvgPool2d),
    **{f"block {i + 1} has no ReLU after its conv": _cnn_with(relus=tuple(int(i != j) for j in range(4))) for i in range(3)},
    "the hidden Linear layer needs its ReLU": _cnn_with(relus=(1, 1, 1, 0)),
    "a ReLU after the last Linear layer: return the logits as they are": _cnn_with(out=(nn.ReLU(),)),
    "the head needs nn.Dropout(p_drop) before each Linear layer": _cnn_with(drops=(0, 0)),
    "the head needs nn.Dropout(p_drop) before the first Linear layer too (after Flatten)": _cnn_with(drops=(0, 1)),
    "the head needs nn.Dropout(p_drop) before the last Linear layer too (after the ReLU)": _cnn_with(drops=(1, 0)),
    "nn.Dropout(p_drop), using the p_drop argument, not a fixed 0.5": _cnn_with(p_drop=0.5),
}


def _cnn_cases(hidden):
    configs = [dict(), dict(in_channels=1, width=8, hidden=64, image_size=28)]
    if hidden:
        configs += [dict(num_classes=4, width=4, hidden=10, p_drop=0.4), dict(in_channels=2, width=6, hidden=20, image_size=16),
                    dict(in_channels=1, num_classes=7, width=3, hidden=5, image_size=31)]
    return [case(**o, x=(3, o.get("in_channels", 3), o.get("image_size", 32), o.get("image_size", 32)), seed=50)
            for o in configs]


LS_HINT = ("with C classes and smoothing e, the target distribution is q = (1 - e) * one_hot(y) + e / C (every class, "
           "the true one included); loss = mean over the batch of -sum_c q_c * log_softmax(logits)_c, with "
           "log_softmax computed stably (logits - logsumexp, e.g. torch.log_softmax)")


def _ls_cases(hidden):
    """(grad, errors, logits, targets, smoothing) for records.a_loss: the logits require a gradient."""
    g = torch.Generator().manual_seed(55)
    cases = [(torch.randn(4, 3, generator=g), torch.tensor([0, 2, 1, 2]), 0.1),
             (torch.randn(6, 10, generator=g), torch.randint(0, 10, (6,), generator=g), 0.2)]
    if hidden:
        cases += [(torch.randn(5, 4, generator=g), torch.tensor([3, 3, 0, 1, 2]), 0.0),        # no smoothing
                  (torch.randn(1, 2, generator=g), torch.tensor([1]), 0.5),                   # one example, 2 classes
                  (torch.randn(3, 5, generator=g) * 1000, torch.tensor([0, 4, 2]), 0.1),      # huge logits
                  (torch.randn(4, 6, generator=g, dtype=torch.float64), torch.tensor([5, 0, 1, 1]), 0.3)]
    return [((0,), (), logits, y, e) for logits, y, e in cases]


def _smoothed(logits, y, e, *, spread="all", reduce="mean"):
    """The smoothed cross-entropy with one convention switchable (by default F.cross_entropy(label_smoothing=e)'s,
    tests/test_checks_week3.py)."""
    c = logits.shape[1]
    logp, onehot = torch.log_softmax(logits, 1), F.one_hot(y, c).to(logits.dtype)
    q = {"all": (1 - e) * onehot + e / c, "others": (1 - e) * onehot + e / (c - 1) * (1 - onehot),
         "sum": (1 - e) * onehot + e}[spread]
    per = -(q * logp).sum(1)
    return per.mean() if reduce == "mean" else per.sum()


LS_MISTAKES = {
    "the smoothing is ignored: this is the plain cross-entropy": lambda logits, y, e: F.cross_entropy(logits, y),
    "e / (C - 1) on the wrong classes only is another convention: PyTorch (and Szegedy et al. 2016) spread e / C over "
    "EVERY class": lambda logits, y, e: _smoothed(logits, y, e, spread="others"),
    "the smoothed target must sum to 1: e / C per class, not e": lambda logits, y, e: _smoothed(logits, y, e, spread="sum"),
    "sum over the batch: take the MEAN over the batch": lambda logits, y, e: _smoothed(logits, y, e, reduce="sum"),
}


# --------------------------------------------------------------------------------------------
# 01 · a small convnet from your own layers: loss and every gradient
# --------------------------------------------------------------------------------------------

CONVNET_HINT = ("forward: conv ('same' pad (HH - 1) // 2, stride 1) -> ReLU -> 2x2 max pool (stride 2) -> flatten "
                "each image in (C, H, W) order -> x @ w2 + b2 -> ReLU -> x @ w3 + b3 -> softmax cross-entropy, "
                "averaged over the batch, plus 0.5 * reg * (sum of the three weight arrays squared; no biases); "
                "backward: the same layers in reverse, each with its own cache, and reg * w added to each dw")
FORBIDDEN["convnet_loss"] = {
    "torch": "compose the NumPy layers (yours and week 1's): torch autograd is what the check compares with",
    ".backward": "the backward pass is the exercise: call the layers' backward functions in reverse order"}


def _convnet_cases(hidden: bool):
    """(params, x, y, reg, layers) as the answer gets them (NumPy, float64); ``layers`` "own" (the answer's default)
    or "avg" (:func:`helpers.checks.records.convnet_run` passes im2col convolution and AVERAGE pooling as ``layers=``:
    the training passes its own layers, the answer must use them)."""
    cases = [(2, 3, 6, 6, 3, 3, 7, 4, 0.0, 1), (3, 2, 4, 6, 2, 3, 5, 3, 0.3, 2)]
    if hidden:
        cases += [(4, 1, 8, 4, 4, 5, 6, 5, 0.1, 3),     # 5x5 filters (pad 2), one channel, non-square
                  (1, 2, 4, 4, 3, 1, 4, 3, 0.7, 4),     # one image, a 1x1 convolution
                  (5, 3, 6, 6, 2, 3, 3, 10, 0.05, 5)]   # ten classes, more images
    out = []
    for n, c, h, w, f, k, hd, cl, reg, seed in cases:
        g = torch.Generator().manual_seed(300 + seed)
        x = torch.randn(n, c, h, w, generator=g, dtype=torch.float64)
        d = f * (h // 2) * (w // 2)
        params = (torch.randn(f, c, k, k, generator=g, dtype=torch.float64) * 0.5,
                  torch.randn(f, generator=g, dtype=torch.float64) * 0.1,
                  torch.randn(d, hd, generator=g, dtype=torch.float64) * 0.4,
                  torch.randn(hd, generator=g, dtype=torch.float64) * 0.1,
                  torch.randn(hd, cl, generator=g, dtype=torch.float64) * 0.4,
                  torch.randn(cl, generator=g, dtype=torch.float64) * 0.1)
        y = torch.randint(0, cl, (n,), generator=g)
        out.append((tuple(_np(t) for t in params), _np(x), y.numpy().copy(), reg, "own"))
    return out[:2] + [(*out[0][:4], "avg")] + out[2:]


def _convnet(params, x, y, reg, layers=None, *, reg_grad=1.0, reg_loss=0.5, reg_bias=False, mean=True, grad_mean=True,
             flatten="chw", masks=(True, True), own=True):
    """The answer in NumPy (mentor side: the record's reference), with the usual slips switchable; ``layers`` as the
    answer takes them (None: the course's im2col convolution and max pooling; ``own=False`` ignores the argument)."""
    from helpers import scratch

    if layers is None or not own:
        layers = {"conv_forward": scratch.conv_forward_fast, "conv_backward": scratch.conv_backward_fast,
                  "pool_forward": scratch.max_pool_forward, "pool_backward": scratch.max_pool_backward}
    w1, b1, w2, b2, w3, b3 = params
    n = len(x)
    a1, conv_cache = layers["conv_forward"](x, w1, b1, {"stride": 1, "pad": (w1.shape[2] - 1) // 2})
    pooled, pool_cache = layers["pool_forward"](np.maximum(a1, 0), {"pool_height": 2, "pool_width": 2, "stride": 2})
    flat = pooled.reshape(n, -1) if flatten == "chw" else pooled.transpose(0, 2, 3, 1).reshape(n, -1)
    a2 = flat @ w2 + b2
    r2 = np.maximum(a2, 0)
    loss, ds = scratch.softmax_cross_entropy(r2 @ w3 + b3, y)
    if not mean:
        loss, ds = loss * n, ds * n
    elif not grad_mean:
        ds = ds * n
    loss += reg_loss * reg * sum(np.sum(t * t) for t in (params if reg_bias else (w1, w2, w3)))
    da2 = ds @ w3.T * (a2 > 0 if masks[1] else 1)
    dflat = da2 @ w2.T
    dpooled = (dflat.reshape(pooled.shape) if flatten == "chw" else
               dflat.reshape(n, pooled.shape[2], pooled.shape[3], pooled.shape[1]).transpose(0, 3, 1, 2))
    da1 = layers["pool_backward"](dpooled, pool_cache) * (a1 > 0 if masks[0] else 1)
    _, dw1, db1 = layers["conv_backward"](da1, conv_cache)
    grads = [dw1, db1, flat.T @ da2, da2.sum(0), r2.T @ ds, ds.sum(0)]
    return loss, tuple(g + reg_grad * reg * t if i % 2 == 0 or reg_bias else g
                       for i, (g, t) in enumerate(zip(grads, params)))


def _slip(**slip):
    return lambda params, x, y, reg, layers=None: _convnet(params, x, y, reg, layers, **slip)


CONVNET_MISTAKES = {   # why -> the wrong convnet_loss; a slip equal to the right answer on a case (reg 0) never fires
    "the L2 term's gradient is missing: add reg * w to dw1, dw2 and dw3": _slip(reg_grad=0.0),
    "the course's convention is 0.5 * reg * sum(w ** 2) in the loss, so that its gradient is reg * w (not 2 * reg * w)":
        _slip(reg_grad=2.0, reg_loss=1.0),
    "regularise the weights only (w1, w2, w3), not the biases": _slip(reg_bias=True),
    "the gradient of 0.5 * reg * sum(w ** 2) is reg * w, not 0.5 * reg * w": _slip(reg_grad=0.5),
    "the loss is averaged over the batch, so the gradients must be too: dscores / N": _slip(grad_mean=False),
    "average the cross-entropy over the batch (divide the loss, and so every gradient, by N)": _slip(mean=False),
    "flatten each pooled image in its (C, H, W) order, pooled.reshape(N, -1), and unflatten the gradient with the "
    "pooled output's shape: not channels last": _slip(flatten="hwc"),
    "the backward pass skips the ReLU after the convolution: mask dout where that ReLU's input was <= 0 "
    "(relu_backward with that ReLU's own cache)": _slip(masks=(False, True)),
    "the backward pass skips the ReLU between the affine layers: mask with where its own input was > 0":
        _slip(masks=(True, False)),
    "it ignores its `layers` argument: use layers['conv_forward'], layers['pool_forward'] and their backward functions "
    "(the training passes FAST_LAYERS), not fixed ones": _slip(own=False),
}


def _describe_convnet(params, x, y, reg, layers) -> str:
    return (f"x {x.shape}, {params[0].shape[0]} filters {params[0].shape[2]}x{params[0].shape[3]}, {params[2].shape[1]} "
            f"hidden units, {params[4].shape[1]} classes, reg {reg}"
            + (" with layers = im2col convolution and AVERAGE pooling" if layers == "avg" else ""))


__all__ += ["check_convnet_loss"]


# --------------------------------------------------------------------------------------------
# the exercises written as records (helpers/checks/records.py)
# --------------------------------------------------------------------------------------------

LAYER_TOL = dict(rtol=RTOL, atol=ATOL, f32=(2e-5, 1e-5))   # float64 against torch; an answer in float32 to float32's

CONV_MISTAKES = {   # why -> the wrong conv_forward; a slip equal to the right answer on a case (pad 0, stride 1) never fires
    "the kernel is flipped: CNN layers (F.conv2d, nn.Conv2d, helpers.scratch) compute a cross-correlation, "
    "sum(field * w[f]), without flipping w as the textbook convolution does":
        lambda x, w, b, cp: _conv(x, w[:, :, ::-1, ::-1], b, cp["stride"], cp["pad"]),
    "the input is not padded: add conv_param['pad'] rows and columns of zeros on every side "
    "(np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))))": lambda x, w, b, cp: _conv(x, w, b, cp["stride"], 0),
    "pad with zeros, not with copies of the edge pixels":
        lambda x, w, b, cp: _conv(x, w, b, cp["stride"], cp["pad"], pad_mode="edge"),
    "the stride is ignored: with stride s the output has (H + 2*pad - HH) // s + 1 rows, and window (r, c) starts at "
    "(r * s, c * s)": lambda x, w, b, cp: _conv(x, w, b, 1, cp["pad"]),
    "the output has the right size but window (r, c) must start at (r * stride, c * stride), not at (r, c)":
        lambda x, w, b, cp: _conv(x, w, b, 1, cp["pad"], size=_conv(x, w, b, cp["stride"], cp["pad"])[0].shape[2:]),
    "add the bias: out[n, f] gets + b[f]": lambda x, w, b, cp: _conv(x, w, None, cp["stride"], cp["pad"]),
}


def _pool_record(kind) -> Exercise:
    """max_pool_forward or avg_pool_forward, with the slips of that pooling (one equal to the right answer on a case,
    the stride ignored when it is 1, never fires there)."""
    other = "avg" if kind == "max" else "max"
    slips = {
        "the stride is ignored: with stride s there are (H - pool_height) // s + 1 rows of windows":
            lambda x, ph, pw, s: _pooled(kind, x, ph, pw, 1),
        "window (r, c) starts at (r * stride, c * stride), not at (r, c)":
            lambda x, ph, pw, s: (_pooled(kind, x, ph, pw, 1)[0][:, :, :(x.shape[2] - ph) // s + 1,
                                                                 :(x.shape[3] - pw) // s + 1], None),
        "use pool_param['stride'] as the step between windows, not the window size (windows may overlap, or leave gaps)":
            lambda x, ph, pw, s: _pooled(kind, x, ph, pw, ph, pw),
        "pool_height runs along the rows (H), pool_width along the columns (W): they are swapped":
            lambda x, ph, pw, s: _pooled(kind, x, pw, ph, s),
    }
    if kind == "max":
        slips["this is average pooling: take each window's maximum"] = lambda x, ph, pw, s: _pooled(other, x, ph, pw, s)
        slips["pool each channel on its own: the max runs over the window, not over the channels"] = \
            lambda x, ph, pw, s: (np.repeat(_pooled("max", x.max(1, keepdims=True), ph, pw, s)[0], x.shape[1], 1), None)
    else:
        slips["divide each window's sum by its size pool_height * pool_width (this is the sum)"] = \
            lambda x, ph, pw, s: (_pooled("avg", x, ph, pw, s)[0] * ph * pw, None)
        slips["this is max pooling: take each window's mean"] = lambda x, ph, pw, s: _pooled(other, x, ph, pw, s)
        slips["the window holds pool_height * pool_width numbers: divide by that"] = \
            lambda x, ph, pw, s: (_pooled("avg", x, ph, pw, s)[0] * pw / ph, None)
    return Exercise(
        f"{kind}_pool_forward", reference=_pool_answer(lambda x, ph, pw, s: _pooled(kind, x, ph, pw, s)),
        cases=_pool_forward_cases, outputs=("out", "cache"), forbidden=FORBIDDEN["layers"], **LAYER_TOL,
        hint=(f"out[n, c, r, q] = the {'maximum' if kind == 'max' else 'mean'} of x[n, c, r*s:r*s+ph, q*s:q*s+pw], "
              "one channel at a time, with H' = (H - ph) // s + 1 and W' = (W - pw) // s + 1"),
        describe=lambda x, pool_param: (f"{_describe_pool(x, *_pool_args(pool_param))}, expected shape "
                                        f"{_pooled(kind, x, *_pool_args(pool_param))[0].shape}"),
        mistakes={why: _pool_answer(slip) for why, slip in slips.items()},
        in_place="the backward pass needs x as it was")


EXERCISES = [
    Exercise(
        "conv_forward", reference=lambda x, w, b, conv_param: _conv(x, w, b, conv_param["stride"], conv_param["pad"]),
        cases=_conv_forward_cases, outputs=("out", "cache"), hint=CONV_HINT,
        describe=lambda x, w, b, cp: (f"{_describe_conv(x, w, cp['stride'], cp['pad'])}, expected shape "
                                      f"{_conv(x, w, b, cp['stride'], cp['pad'])[0].shape}"),
        mistakes=CONV_MISTAKES, forbidden=FORBIDDEN["layers"],
        in_place="leave the inputs as they are: pad x into a new array (np.pad returns one)", **LAYER_TOL),
    _pool_record("max"),
    _pool_record("avg"),
    Exercise(
        "conv_backward", answers=("conv_forward", "conv_backward"), run=forward_backward, reference=(_conv_fwd, _conv_bwd),
        cases=_conv_backward_cases, outputs=("dx", "dw", "db"), hint=CONV_BACK_HINT, mistakes=CONV_BACK_MISTAKES,
        describe=lambda inputs, dout: f"for {_describe_conv(inputs[0], inputs[1], inputs[3]['stride'], inputs[3]['pad'])}",
        forbidden=FORBIDDEN["layers"], in_place="dout is the upstream gradient: read it, leave it as it is", **LAYER_TOL),
    _pool_backward_record("max"),
    _pool_backward_record("avg"),
    Exercise(
        "sobel_kernels", reference=lambda: (SOBEL_X.copy(), SOBEL_Y.copy()), outputs=("kx", "ky"),
        cases=lambda hidden: [()] + ([()] if hidden else []),     # hidden: called again, the same kernels
        hint=SOBEL_HINT, describe=lambda: "sobel_kernels()", mistakes=SOBEL_MISTAKES),
    Exercise(
        "apply_filter", reference=lambda image, kernel: _filtered(image, kernel), cases=_filter_cases, hint=FILTER_HINT,
        describe=lambda image, kernel: (f"the filtered image for an image {image.shape} ({image.dtype}) and a "
                                        f"{kernel.shape[0]}x{kernel.shape[1]} kernel"),
        mistakes=FILTER_MISTAKES, forbidden=FORBIDDEN["apply_filter"],
        in_place="filter into a new array, leave the image and the kernel as they are", **LAYER_TOL),
]

EXERCISES += [
    Exercise("label_smoothing", reference=lambda logits, y, e: _smoothed(logits, y, e),     # = F.cross_entropy's
             cases=_ls_cases, run=a_loss, mistakes=LS_MISTAKES, hint=LS_HINT, rtol=1e-5, atol=1e-6,
             forbidden=FORBIDDEN["label_smoothing_cross_entropy"],
             describe=lambda grad, errors, logits, y, e: f"the loss for logits {tuple(logits.shape)}, smoothing {e}"),
    Exercise("activation_maps", reference=lambda model, x, name: _expected_activation(model, x, name)[0],
             cases=_hook_cases, run=activation, mistakes=HOOK_MISTAKES, forbidden=FORBIDDEN["activation_maps"],
             hint=HOOK_HINT, rtol=1e-5, atol=1e-6, in_place="read the batch, leave it as it was",
             describe=lambda model, x, name: (f"the activation of {name!r} (expected shape "
                                              f"{tuple(_expected_activation(model, x, name)[0].shape)})")),
    Exercise("early_stopping_epochs", reference=_stop_reference, cases=_stop_cases, run=epochs, hint=STOP_HINT,
             mistakes=STOP_MISTAKES, forbidden=FORBIDDEN["early_stopping_epochs"],
             describe=lambda losses, patience: (f"(best_epoch, stop_epoch) for val_losses={losses}, patience={patience} "
                                                "(stop_epoch None shown as 0)")),
    Exercise("conv_output_size", reference=_conv_size, cases=_size_cases, run=an_int, hint=SIZE_HINT,
             mistakes=SIZE_MISTAKES, forbidden=FORBIDDEN["conv_output_size"],
             describe=lambda args, kw: "conv_output_size({}, kernel={kernel}, stride={stride}, padding={padding})".format(
                 *args, **kw)),
    Exercise("convnet_loss", reference=_slip(), cases=_convnet_cases, run=convnet_run, hint=CONVNET_HINT,
             outputs=("the loss", "dw1", "db1", "dw2", "db2", "dw3", "db3"), mistakes=CONVNET_MISTAKES,
             forbidden=FORBIDDEN["convnet_loss"], describe=_describe_convnet,
             in_place="the forward pass reads x and y, leave them as they are", **LAYER_TOL),
    Build("mnist_mlp", answer="MnistMLP", reference=_mlp_with(), cases=_mlp_cases, hint=MLP_HINT, mistakes=MLP_MISTAKES,
          describe=lambda hidden=512, p_drop=0.2: f"MnistMLP(hidden={hidden}, p_drop={p_drop})"),
    Build("lenet5", answer="ModifiedLeNet5", reference=_lenet, cases=_lenet_cases, hint=LENET_HINT, children=LENET_NAMES,
          mistakes=LENET_MISTAKES),
    Build("cifar_cnn", answer="CifarCNN", reference=_cnn, cases=_cnn_cases, hint=CNN_HINT, mistakes=CNN_MISTAKES,
          describe=lambda **options: f"CifarCNN({options})"),
]

CHECKS = checks_of(EXERCISES, __name__)
globals().update(CHECKS)   # check_conv_forward, check_max_pool_forward, ...: what 01 and 02 call


@isolated
def check_label_smoothing(label_smoothing_cross_entropy, hidden: bool = False) -> None:
    """``label_smoothing_cross_entropy(logits, targets, smoothing) -> 0-d tensor``: the record label_smoothing
    (equal to ``F.cross_entropy(logits, targets, label_smoothing=smoothing)``, written without it, keeping the graph),
    and a ValueError for mismatched shapes (hidden: for a smoothing outside [0, 1))."""
    CHECKS["check_label_smoothing"](label_smoothing_cross_entropy, hidden=hidden)
    for bad, text in ((lambda: label_smoothing_cross_entropy(torch.zeros(3, 4), torch.zeros(2, dtype=torch.long), 0.1),
                       "3 logit rows and 2 targets"),
                      (lambda: label_smoothing_cross_entropy(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), 1.5),
                       "smoothing 1.5")):
        if not hidden and "smoothing" in text:
            continue
        try:
            bad()
        except ValueError:
            continue
        except Exception as err:  # noqa: BLE001
            raise CheckFailure(f"for {text} raise a ValueError naming the expected shapes / range, got "
                               f"{type(err).__name__}: {str(err)[:120]}") from err
        raise CheckFailure(f"for {text} raise a ValueError (logits (N, C), targets (N,), 0 <= smoothing < 1)")


@isolated
def check_activation_maps(activation_maps, hidden: bool = False) -> None:
    """``activation_maps(model, x, layer_name) -> tensor``: the record activation_maps (the named layer's output,
    captured with a forward hook that is gone afterwards), and a clear error for an unknown name; hidden: the hook
    is removed also when the forward pass fails."""
    CHECKS["check_activation_maps"](activation_maps, hidden=hidden)
    model = _hook_model(61)
    g = torch.Generator().manual_seed(62)
    x = torch.randn(2, 1, 8, 8, generator=g)
    valid = [n for n, _ in model.named_modules() if n]
    # an unknown name: a clear error listing the valid names
    try:
        call(activation_maps, model, x.clone(), "features.9")
    except CheckFailure as err:
        message = str(err)
        if "not answered yet" in message:
            raise
        listed = [n for n in ("features.0", "features.3.conv", "classifier.1") if n in message]
        expect(len(listed) == 3, "for an unknown layer_name ('features.9') raise an error that lists the valid names "
                                 f"(e.g. {valid}), so the user can pick one; got: {message[:200]}")
        expect(not hooks_left(model), "hooks were left on the model after the error for an unknown name")
    else:
        raise CheckFailure("activation_maps(model, x, 'features.9') returned a value: 'features.9' is not a layer of "
                           "the model; raise a ValueError that lists the valid names")
    if hidden:
        # the forward pass fails after the hooked layer ran: the hook must be removed all the same
        bad = torch.randn(1, 1, 10, 10, generator=g)      # features run, the classifier's Linear gets the wrong size
        try:
            activation_maps(model, bad, "features.0")
        except NotImplementedError as err:
            raise CheckFailure("this exercise is not answered yet: replace `raise NotImplementedError()`") from err
        except Exception:  # noqa: BLE001 - the failure itself is expected; what matters is the clean-up
            pass
        left = hooks_left(model)
        expect(not left, f"when the forward pass raises, the hook stays registered on {left}: remove it in a "
                         "`finally:` block (try: model(x) finally: handle.remove())")




@isolated
def check_early_stopping_epochs(early_stopping_epochs, hidden: bool = False) -> None:
    """``early_stopping_epochs(val_losses, patience) -> (best_epoch, stop_epoch)``, like EarlyStopping: the record
    early_stopping_epochs, and (hidden) a ValueError for patience 0."""
    CHECKS["check_early_stopping_epochs"](early_stopping_epochs, hidden=hidden)
    if hidden:
        try:
            early_stopping_epochs([0.5, 0.4], 0)
        except ValueError:
            return
        except Exception:  # noqa: BLE001 - anything else is the answer to fix, named below
            pass
        raise CheckFailure("early_stopping_epochs([...], patience=0) should raise a ValueError: patience >= 1")


@isolated
def check_conv_output_size(conv_output_size, hidden: bool = False) -> None:
    """``conv_output_size(size, *, kernel, stride=1, padding=0) -> int``: the record conv_output_size (kernels that
    fit), and a ValueError for a kernel that does not fit."""
    CHECKS["check_conv_output_size"](conv_output_size, hidden=hidden)
    try:
        conv_output_size(3, kernel=5, stride=1, padding=0)
    except ValueError:
        return
    except Exception:  # noqa: BLE001 - anything else is the answer to fix, named below
        pass
    raise CheckFailure("conv_output_size(3, kernel=5) should raise a ValueError: a 5x5 kernel does not fit "
                       "in a 3x3 input without padding")


# the three models' records judge what they compute; these add what a model must refuse (a clear ValueError)
@isolated
def check_mnist_mlp(MnistMLP, hidden: bool = False) -> None:
    """``MnistMLP(hidden=512, p_drop=0.2)``: the record mnist_mlp (784 -> hidden -> hidden -> 10 with ReLU and
    dropout, compared with the reference's weights loaded in, eval and train mode), flat inputs accepted, and a
    ValueError naming the shape for the wrong ones."""
    CHECKS["check_mnist_mlp"](MnistMLP, hidden=hidden)
    model = MnistMLP(hidden=32, p_drop=0.2)
    check_output_shape(model, (3, 784), (3, 10), "a batch of flat (N, 784) vectors is accepted too")
    _expect_value_error(model, torch.zeros(28, 28), "one image without a batch dimension, (28, 28)",
                        "(N, 1, 28, 28) or (N, 784)")
    if hidden:
        _expect_value_error(model, torch.zeros(2, 3, 28, 28), "colour images (2, 3, 28, 28)",
                            "(N, 1, 28, 28) or (N, 784)")
        _expect_value_error(model, torch.zeros(2, 1, 32, 32), "32x32 images (2, 1, 32, 32)",
                            "(N, 1, 28, 28) or (N, 784)")


@isolated
def check_lenet5(ModifiedLeNet5, hidden: bool = False) -> None:
    """The modified LeNet-5: the record lenet5 (named layers, the same function as the reference with its weights
    loaded in, eval and train mode, the 1998 variant with ``pool='avg', activation='tanh'``, the defaults), and a
    ValueError for wrong shapes and pool choices."""
    CHECKS["check_lenet5"](ModifiedLeNet5, hidden=hidden)
    model = call(ModifiedLeNet5, hint=LENET_HINT)
    _expect_value_error(model, torch.zeros(1, 28, 28), "an input of shape (1, 28, 28) (no batch dimension)",
                        "(N, 1, 28, 28)")
    if hidden:
        _expect_value_error(model, torch.zeros(2, 3, 28, 28), "colour images (2, 3, 28, 28)", "(N, 1, 28, 28)")
        _expect_value_error(model, torch.zeros(2, 1, 32, 32), "32x32 images", "(N, 1, 28, 28)")
        try:
            ModifiedLeNet5(pool="min")
        except ValueError:
            pass
        except Exception as err:  # noqa: BLE001
            raise CheckFailure(f"ModifiedLeNet5(pool='min') raised {type(err).__name__}, expected a ValueError naming "
                               "the choices 'max' and 'avg'") from err
        else:
            raise CheckFailure("ModifiedLeNet5(pool='min') should raise a ValueError naming the choices 'max' and 'avg'")


@isolated
def check_cifar_cnn(CifarCNN, hidden: bool = False) -> None:
    """``CifarCNN(...)``: the record cifar_cnn (the conv + max-pool blocks, dropout and FC head, compared with the
    reference's weights loaded in, eval and train mode), and a ValueError naming the shape for wrong inputs."""
    CHECKS["check_cifar_cnn"](CifarCNN, hidden=hidden)
    model = CifarCNN()
    _expect_value_error(model, torch.zeros(3, 32, 32), "one image without a batch dimension, (3, 32, 32)",
                        "(N, 3, 32, 32)")
    if hidden:
        _expect_value_error(model, torch.zeros(2, 1, 32, 32), "grey images (2, 1, 32, 32) for in_channels=3",
                            "(N, 3, 32, 32)")
        _expect_value_error(model, torch.zeros(2, 3, 28, 28), "28x28 images for image_size=32", "(N, 3, 32, 32)")
