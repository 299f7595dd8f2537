"""Convolution and pooling in the CS231n shape: ``forward(x, ...) -> (out, cache)``, ``backward(dout, cache)``.

Images are (N, C, H, W), filters (F, C, HH, WW), biases (F,), as in ``torch.nn.functional.conv2d``
(which, like these layers, computes a cross-correlation: the kernel is not flipped).

    out, cache = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})   # -> out (N, F, H', W')
    dx, dw, db = conv_backward_naive(dout, cache)
    out, cache = max_pool_forward(x, {"pool_height": 2, "pool_width": 2, "stride": 2})
    dx = max_pool_backward(dout, cache)

The output size along each axis is (H + 2*pad - HH) / stride + 1; it must come out a whole
number (torch silently drops the leftover rows and columns; here that is an error, so a wrong
stride or padding shows up at once). ``conv_forward_fast`` / ``conv_backward_fast`` compute the
same thing as the naive loops with NumPy stride tricks (im2col): the receptive fields are a
strided view of the input, copied once into rows, and the sums over (C, HH, WW) become one
matrix product.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import _shapes


# --- argument checks ------------------------------------------------------------------------------

def _images(x, name: str = "x") -> np.ndarray:
    x = _shapes.array(x, name)
    if x.ndim != 4:
        raise ValueError(f"expected {name} of shape (N, C, H, W), got {x.shape}")
    return x


def _int_param(params: dict, key: str, dict_name: str, minimum: int) -> int:
    if not isinstance(params, dict) or key not in params:
        raise ValueError(f"{dict_name} must be a dict with the key {key!r}, got {params!r}")
    value = params[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        kind = "a positive" if minimum == 1 else "a non-negative"
        raise ValueError(f"{dict_name}[{key!r}] must be {kind} integer, got {value!r}")
    return int(value)


def _out_size(size: int, pad: int | None, kernel: int, stride: int, axis: str, kernel_name: str) -> int:
    """(size + 2*pad - kernel) / stride + 1, or a ValueError showing the formula with the numbers.

    pad=None: a layer without padding (pooling); the formula is then shown without it.
    """
    span = size + 2 * (pad or 0) - kernel
    letter = axis[0].upper()
    formula, numbers = ((f"({letter} + 2*pad - {kernel_name})", f"({size} + 2*{pad} - {kernel})") if pad is not None
                        else (f"({letter} - {kernel_name})", f"({size} - {kernel})"))
    if span < 0:
        raise ValueError(f"the window is larger than the input: {kernel_name} = {kernel} > {axis} "
                         + (f"{size} + 2*pad = {size + 2 * pad}" if pad is not None else f"{size}"))
    if span % stride:
        raise ValueError(f"output {axis} is not an integer: {formula} / stride + 1 = {numbers} / {stride} + 1 = "
                         f"{span / stride + 1:g}; change the stride" + (" or the padding" if pad is not None else ""))
    return span // stride + 1


def _conv_args(x, w, b, conv_param):
    w = _shapes.array(w, "w")
    if w.ndim != 4:
        raise ValueError(f"expected w of shape (F, C, HH, WW), got {w.shape}")
    x = _images(x)
    f, c, hh, ww = w.shape
    if x.shape[1] != c:
        raise ValueError(f"expected x with C = {c} channels to match w of shape (F, C, HH, WW) = {w.shape}, "
                         f"got x of shape {x.shape}")
    b = _shapes.array(b, "b")
    if b.shape != (f,):
        raise ValueError(f"expected b of shape (F,) with F = {f}, got {b.shape}")
    stride = _int_param(conv_param, "stride", "conv_param", 1)
    pad = _int_param(conv_param, "pad", "conv_param", 0)
    h_out = _out_size(x.shape[2], pad, hh, stride, "height", "HH")
    w_out = _out_size(x.shape[3], pad, ww, stride, "width", "WW")
    return x, w, b, stride, pad, h_out, w_out


def _pad(x, pad):
    return np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))) if pad else x


def _dout_shape(dout, shape):
    dout = _shapes.array(dout, "dout")
    if dout.shape != tuple(shape):
        raise ValueError(f"expected dout of the layer's output shape {tuple(shape)}, got {dout.shape}")
    return dout


# --- convolution: loops ---------------------------------------------------------------------------

def conv_forward_naive(x, w, b, conv_param):
    """Convolution with explicit loops over images, filters and output positions.

    x: (N, C, H, W), w: (F, C, HH, WW), b: (F,), conv_param: {"stride": s >= 1, "pad": p >= 0}
    (p rows/columns of zeros on every side) -> out (N, F, H', W') with
    H' = (H + 2p - HH) / s + 1 and W' = (W + 2p - WW) / s + 1; cache (x, w, b, conv_param).
    """
    x, w, b, s, pad, h_out, w_out = _conv_args(x, w, b, conv_param)
    n, f, hh, ww = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    xp = _pad(x, pad)
    out = np.zeros((n, f, h_out, w_out), dtype=np.result_type(x, w))
    for i in range(n):
        for k in range(f):
            for r in range(h_out):
                for c in range(w_out):
                    field = xp[i, :, r * s:r * s + hh, c * s:c * s + ww]
                    out[i, k, r, c] = np.sum(field * w[k]) + b[k]
    return out, (x, w, b, {"stride": s, "pad": pad})


def conv_backward_naive(dout, cache):
    """Gradients of the convolution: dout (N, F, H', W') -> dx (N, C, H, W), dw (F, C, HH, WW), db (F,).

    Every output position added w[k] * field to out, so it sends dout * w[k] back to its field
    (dx) and dout * field to w[k] (dw); db sums dout over everything but the filter axis.
    """
    x, w, b, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    n, f, hh, ww = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    h_out = (x.shape[2] + 2 * pad - hh) // s + 1
    w_out = (x.shape[3] + 2 * pad - ww) // s + 1
    dout = _dout_shape(dout, (n, f, h_out, w_out))
    xp = _pad(x, pad)
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    for i in range(n):
        for k in range(f):
            for r in range(h_out):
                for c in range(w_out):
                    g = dout[i, k, r, c]
                    dxp[i, :, r * s:r * s + hh, c * s:c * s + ww] += g * w[k]
                    dw[k] += g * xp[i, :, r * s:r * s + hh, c * s:c * s + ww]
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


# --- convolution: stride tricks -------------------------------------------------------------------

def _fields(xp, hh, ww, s):
    """Every receptive field as a read-only view (N, C, H', W', HH, WW) of the padded input."""
    return sliding_window_view(xp, (hh, ww), axis=(2, 3))[:, :, ::s, ::s]


def _field_rows(xp, hh, ww, s):
    """The receptive fields as rows (N * H' * W', C * HH * WW), ordered (n, row, col) x (c, i, j): a copy."""
    fields = _fields(xp, hh, ww, s)
    return fields.transpose(0, 2, 3, 1, 4, 5).reshape(-1, fields.shape[1] * hh * ww)


def conv_forward_fast(x, w, b, conv_param):
    """The same convolution as ``conv_forward_naive`` without Python loops (same shapes, same cache).

    im2col with stride tricks: the receptive fields are a strided view (N, C, H', W', HH, WW) of
    the padded input, laid out as rows (N * H' * W', C * HH * WW); one matrix product with the
    filters as columns (C * HH * WW, F) gives every output, reshaped to (N, F, H', W').
    """
    x, w, b, s, pad, h_out, w_out = _conv_args(x, w, b, conv_param)
    n, f = x.shape[0], w.shape[0]
    rows = _field_rows(_pad(x, pad), w.shape[2], w.shape[3], s)
    out = (rows @ w.reshape(f, -1).T + b).reshape(n, h_out, w_out, f)
    return np.ascontiguousarray(out.transpose(0, 3, 1, 2)), (x, w, b, {"stride": s, "pad": pad})


def conv_backward_fast(dout, cache):
    """The gradients of ``conv_backward_naive``, vectorised (same shapes).

    With dout as rows (N * H' * W', F): dw is one matrix product of those rows with the receptive
    fields; the fields' gradients are another, (N * H' * W', F) @ (F, C * HH * WW), and dx adds them
    back into place with one loop over the HH * WW kernel offsets, each adding a strided slice
    (where fields overlap, their contributions add up).
    """
    x, w, b, conv_param = cache
    s, pad = conv_param["stride"], conv_param["pad"]
    n, f, hh, ww = x.shape[0], w.shape[0], w.shape[2], w.shape[3]
    c = x.shape[1]
    h_out = (x.shape[2] + 2 * pad - hh) // s + 1
    w_out = (x.shape[3] + 2 * pad - ww) // s + 1
    dout = _dout_shape(dout, (n, f, h_out, w_out))
    rows = dout.transpose(0, 2, 3, 1).reshape(-1, f)                      # (N*H'*W', F)
    xp = _pad(x, pad)
    dw = (rows.T @ _field_rows(xp, hh, ww, s)).reshape(w.shape)
    dfields = (rows @ w.reshape(f, -1)).reshape(n, h_out, w_out, c, hh, ww)
    dxp = np.zeros_like(xp, dtype=np.result_type(xp, dfields))
    for i in range(hh):
        for j in range(ww):
            dxp[:, :, i:i + s * h_out:s, j:j + s * w_out:s] += dfields[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    dx = dxp[:, :, pad:pad + x.shape[2], pad:pad + x.shape[3]]
    return dx, dw, dout.sum(axis=(0, 2, 3))


# --- pooling --------------------------------------------------------------------------------------

def _pool_args(x, pool_param):
    x = _images(x)
    ph = _int_param(pool_param, "pool_height", "pool_param", 1)
    pw = _int_param(pool_param, "pool_width", "pool_param", 1)
    s = _int_param(pool_param, "stride", "pool_param", 1)
    h_out = _out_size(x.shape[2], None, ph, s, "height", "pool_height")
    w_out = _out_size(x.shape[3], None, pw, s, "width", "pool_width")
    return x, ph, pw, s, h_out, w_out


def max_pool_forward(x, pool_param):
    """Max pooling per channel, no padding.

    x: (N, C, H, W), pool_param: {"pool_height": ph, "pool_width": pw, "stride": s}
    -> out (N, C, H', W') with H' = (H - ph) / s + 1, W' = (W - pw) / s + 1;
    cache (x shape, pool sizes, the flat index of each window's maximum).
    """
    x, ph, pw, s, h_out, w_out = _pool_args(x, pool_param)
    fields = _fields(x, ph, pw, s).reshape(x.shape[0], x.shape[1], h_out, w_out, ph * pw)
    arg = fields.argmax(axis=-1)  # the first maximum in row-major order wins a tie, as in torch
    out = np.take_along_axis(fields, arg[..., None], axis=-1)[..., 0]
    return out, (x.shape, x.dtype, ph, pw, s, arg)


def max_pool_backward(dout, cache):
    """dout (N, C, H', W') -> dx (N, C, H, W): each window's gradient goes to its maximum only
    (overlapping windows, stride < pool size, add up where they share a maximum)."""
    shape, dtype, ph, pw, s, arg = cache
    dout = _dout_shape(dout, arg.shape)
    h_out, w_out = arg.shape[2:]
    dx = np.zeros(shape, dtype=np.result_type(dtype, dout))
    for i in range(ph):
        for j in range(pw):
            dx[:, :, i:i + s * h_out:s, j:j + s * w_out:s] += dout * (arg == i * pw + j)
    return dx


def avg_pool_forward(x, pool_param):
    """Average pooling per channel, no padding; same pool_param and output size as ``max_pool_forward``."""
    x, ph, pw, s, h_out, w_out = _pool_args(x, pool_param)
    out = _fields(x, ph, pw, s).mean(axis=(4, 5))
    return out, (x.shape, x.dtype, ph, pw, s)


def avg_pool_backward(dout, cache):
    """dout (N, C, H', W') -> dx (N, C, H, W): every input in a window receives dout / (ph * pw)."""
    shape, dtype, ph, pw, s = cache
    h_out, w_out = (shape[2] - ph) // s + 1, (shape[3] - pw) // s + 1
    dout = _dout_shape(dout, (shape[0], shape[1], h_out, w_out))
    dx = np.zeros(shape, dtype=np.result_type(dtype, dout))
    share = dout / (ph * pw)
    for i in range(ph):
        for j in range(pw):
            dx[:, :, i:i + s * h_out:s, j:j + s * w_out:s] += share
    return dx
