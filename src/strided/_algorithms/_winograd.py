"""Winograd's minimal filtering F(4x4, 3x3) and F(2x2, 3x3): 3x3 kernels, stride 1, 2-D.

Lavin and Gray's algorithm computes each ``m x m`` output tile from an ``(m+2) x (m+2)`` input
tile ``d`` and the 3x3 kernel ``g`` as::

    Y = A^T [ (G g G^T) * (B^T d B) ] A          (* element-wise, per channel pair)

Summed over input channels, the element-wise product becomes ``(m+2)^2`` independent matrix
products, one per tile position: 36 GEMMs of (tiles, C) @ (C, O) for F(4x4, 3x3) in place of
the 9 * 16 = 144 multiplies per output tile of the direct method, a 4x saving (2.25x for
F(2x2, 3x3)).  Shapes (``T`` tiles, ``a = m + 2``)::

    input tiles  V = B^T d B    (a*a, T, C)
    weight       U = G g G^T    (a*a, C, O)
    products     M = V @ U      (a*a, T, O)    BLAS, one call per tile position
    output       Y = A^T M A    (N, OH, OW, O)

A dilated kernel (dilation ``d``) reads only pixels ``d`` apart, so the input splits into
``d_h * d_w`` phases (every ``d``-th row and column from each offset) that are convolved
independently with the undilated kernel; the phases are stacked along the batch axis and
run through one Winograd pass, then interleaved back.

The input gradient is this same forward pass on the output gradient with the kernel rotated by
180 degrees and its channel axes swapped.  The weight gradient is the adjoint of the forward
pass: ``dU = V^T @ (A dY A^T)`` per tile position, then ``dg = G^T dU G``.

Accuracy: the transforms mix values of different sizes (the 8 and -5 of ``A`` and ``B``), so
float32 results of F(4x4, 3x3) have a relative L2 error of a few 1e-6 against an exact result,
ten times im2col's but within the 1e-5 that ``strided`` promises; float64 is exact to ~1e-15.

References
----------
.. [1] A. Lavin and S. Gray, "Fast Algorithms for Convolutional Neural Networks", CVPR 2016,
   arXiv:1509.09308 (the matrices below are its F(2x2, 3x3) and F(4x4, 3x3)).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from .._runtime._threads import get_num_threads, matmul, matmul_stack, owns_cores, split
from .._runtime._workspace import empty_safe, output_major, scratch, slabs
from .._spec import ConvSpec
from ._adjoint import input_gradient_as_forward

# F(4x4, 3x3), interpolation points 0, 1, -1, 2, -2 and infinity (Lavin & Gray, section 4.2).
B_T_4 = np.array([
    [4, 0, -5, 0, 1, 0],
    [0, -4, -4, 1, 1, 0],
    [0, 4, -4, -1, 1, 0],
    [0, -2, -1, 2, 1, 0],
    [0, 2, -1, -2, 1, 0],
    [0, 4, 0, -5, 0, 1],
], dtype=np.float64)
G_4 = np.array([
    [1 / 4, 0, 0],
    [-1 / 6, -1 / 6, -1 / 6],
    [-1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6],
    [1 / 24, -1 / 12, 1 / 6],
    [0, 0, 1],
], dtype=np.float64)
A_T_4 = np.array([
    [1, 1, 1, 1, 1, 0],
    [0, 1, -1, 2, -2, 0],
    [0, 1, 1, 4, 4, 0],
    [0, 1, -1, 8, -8, 1],
], dtype=np.float64)

# F(2x2, 3x3), interpolation points 0, 1, -1 and infinity (Lavin & Gray, section 4.1).
B_T_2 = np.array([
    [1, 0, -1, 0],
    [0, 1, 1, 0],
    [0, -1, 1, 0],
    [0, 1, 0, -1],
], dtype=np.float64)
G_2 = np.array([
    [1, 0, 0],
    [1 / 2, 1 / 2, 1 / 2],
    [1 / 2, -1 / 2, 1 / 2],
    [0, 0, 1],
], dtype=np.float64)
A_T_2 = np.array([
    [1, 1, 1, 0],
    [0, 1, -1, -1],
], dtype=np.float64)

#: Output tile size m -> (B^T, G, A^T).
MATRICES = {4: (B_T_4, G_4, A_T_4), 2: (B_T_2, G_2, A_T_2)}


def supports(spec: ConvSpec, dtype: np.dtype) -> str | None:
    """Winograd does 2-D, 3x3, stride 1, ungrouped, floating-point convolutions (any dilation)."""
    if spec.rank != 2:
        return f"Winograd is 2-D only; got {spec.rank} spatial dimension(s)"
    if spec.kernel_size != (3, 3):
        return f"Winograd needs a 3x3 kernel; got kernel_size={spec.kernel_size}"
    if spec.stride != (1, 1):
        return f"Winograd needs stride 1; got stride={spec.stride}"
    if spec.groups != 1:
        return f"Winograd needs groups=1; got groups={spec.groups}"
    if np.dtype(dtype).kind != "f":
        return f"Winograd's fractions are not exact in integers; got dtype {np.dtype(dtype)}"
    return None


def tile_size(output_size: tuple[int, ...]) -> int:
    """Output tile m: 4, or 2 when F(2x2, 3x3) needs fewer products on a small output."""
    def products(m: int) -> int:
        return math.prod(-(-n // m) for n in output_size) * (m + 2) ** 2
    return 2 if products(2) < products(4) else 4


def _apply(matrix: np.ndarray, sources: list[np.ndarray], outs: list[np.ndarray]) -> None:
    """``outs[a] = sum_r matrix[a, r] * sources[r]``, skipping the matrix's zeros."""
    scratch: np.ndarray | None = None
    for row, out in zip(matrix, outs):
        first = True
        for coefficient, source in zip(row.tolist(), sources):
            if coefficient == 0:
                continue
            if first:
                if coefficient == 1:
                    np.copyto(out, source)
                else:
                    np.multiply(source, coefficient, out=out)
                first = False
            elif coefficient == 1:
                np.add(out, source, out=out)
            elif coefficient == -1:
                np.subtract(out, source, out=out)
            else:
                if scratch is None or scratch.shape != out.shape:
                    scratch = np.empty(out.shape, out.dtype)
                np.multiply(source, coefficient, out=scratch)
                np.add(out, scratch, out=out)


def _b_t_4(d: list[np.ndarray], t: list[np.ndarray]) -> None:
    """``t = B_T_4 @ d`` factored (19 array operations instead of 34), as in NNPACK::

        t0 = 4 (d0 - d2) + (d4 - d2)         t3 = (d4 - d2) + 2 (d3 - d1)
        t1 = (d3 + d4) - 4 (d1 + d2)         t4 = (d4 - d2) - 2 (d3 - d1)
        t2 = (d4 - d3) + 4 (d1 - d2)         t5 = (d5 - d3) - 4 (d3 - d1)
    """
    f = np.subtract(d[4], d[2])  # d4 - d2
    g2 = np.subtract(d[3], d[1])
    g2 *= 2  # 2 (d3 - d1)
    np.subtract(d[0], d[2], out=t[0])
    t[0] *= 4
    t[0] += f
    np.add(d[1], d[2], out=t[1])
    t[1] *= -4
    t[1] += d[3]
    t[1] += d[4]
    np.subtract(d[1], d[2], out=t[2])
    t[2] *= 4
    t[2] += d[4]
    t[2] -= d[3]
    np.add(f, g2, out=t[3])
    np.subtract(f, g2, out=t[4])
    np.subtract(d[5], d[3], out=t[5])
    g2 *= 2
    t[5] -= g2


def _a_t_4(m: list[np.ndarray], y: list[np.ndarray]) -> None:
    """``y = A_T_4 @ m`` factored (14 array operations instead of 24)::

        y0 = m0 + (m1 + m2) + (m3 + m4)      y2 = (m1 + m2) + 4 (m3 + m4)
        y1 = (m1 - m2) + 2 (m3 - m4)         y3 = (m1 - m2) + 8 (m3 - m4) + m5
    """
    p, q = np.add(m[1], m[2]), np.subtract(m[1], m[2])
    r, s = np.add(m[3], m[4]), np.subtract(m[3], m[4])
    np.add(m[0], p, out=y[0])
    y[0] += r
    np.multiply(s, 2, out=y[1])
    y[1] += q
    r *= 4
    np.add(p, r, out=y[2])
    s *= 8
    np.add(q, s, out=y[3])
    y[3] += m[5]


def _split_tiles(work, images: int, tile_rows: int, elements: int) -> None:
    """Run ``work(batch_part, row_part)`` over threads, split by image or else by tile row."""
    everything = slice(None)
    if images >= get_num_threads():
        split(lambda part: work(part, everything), images, elements)
    else:
        split(lambda part: work(everything, part), tile_rows, elements)


def _input_tiles(xs: np.ndarray, m: int, tile_rows: int, tile_cols: int) -> np.ndarray:
    """V = B^T d B of every tile: (n, m*r + 2, m*tw + 2, C) -> (a, a, n, r, tw, C)."""
    b_t = MATRICES[m][0]
    a = m + 2
    n, c = xs.shape[0], xs.shape[-1]
    v = scratch("winograd V", (a, a, n, tile_rows, tile_cols, c), xs.dtype)

    def work(images: slice, rows: slice) -> None:
        first, last = rows.start or 0, tile_rows if rows.stop is None else rows.stop
        block = xs[images, m * first: m * last + 2]
        # rows of every tile: (n, r, W, C) each, then B^T along them
        half = scratch("winograd B^T d", (a, *block[:, : m * (last - first): m].shape),
                       xs.dtype)
        transform = _b_t_4 if m == 4 else functools.partial(_apply, b_t)
        transform([block[:, s: s + m * (last - first): m] for s in range(a)], list(half))
        for i in range(a):
            sources = [half[i][:, :, s: s + m * tile_cols: m] for s in range(a)]
            transform(sources, [v[i, j, images, first:last] for j in range(a)])

    _split_tiles(work, n, tile_rows, v.size)
    return v


def _output_tiles_gemm(products: np.ndarray, y: np.ndarray, m: int) -> None:
    """Y = A^T M A as one product per thread, for whole tiles: y (n, m*r, m*tw, O).

    ``kron(A^T, A^T)`` (m*m, a*a) @ M (a*a, tiles * O) gives every output tile at once in
    BLAS, about half the time of the factored transform's element-wise passes.
    """
    a_t = MATRICES[m][2]
    both = np.kron(a_t, a_t).astype(y.dtype)
    a = m + 2
    n, tile_rows, tile_cols, o = products.shape[2:]

    def work(images: slice, rows: slice) -> None:
        block = products[:, :, images, rows]
        count, row_count = block.shape[2:4]
        tiles = scratch("winograd Y", (m * m, block[0, 0].size), y.dtype)
        np.matmul(both, block.reshape(a * a, -1), out=tiles)  # (m*m, n * r * tw * O)
        tiles = tiles.reshape(m, m, count, row_count, tile_cols, o)
        first = rows.start or 0
        target = y[images, m * first: m * (first + row_count)]
        target.reshape(count, row_count, m, tile_cols, m, o)[...] = \
            tiles.transpose(2, 3, 0, 4, 1, 5)

    _split_tiles(work, n, tile_rows, products.size)


def _output_tiles(products: np.ndarray, y: np.ndarray, m: int) -> None:
    """Y = A^T M A into ``y``: (a, a, n, r, tw, O) -> y (n, <= m*r, <= m*tw, O)."""
    a_t = MATRICES[m][2]
    a = m + 2
    n, tile_rows = products.shape[2], products.shape[3]
    if y.shape[1:3] == (m * tile_rows, m * products.shape[4]):
        _output_tiles_gemm(products, y, m)
        return

    def work(images: slice, rows: slice) -> None:
        first, last = rows.start or 0, tile_rows if rows.stop is None else rows.stop
        block = products[:, :, images, first:last]
        target = y[images, m * first: m * last]
        half = scratch("winograd A^T M", (m, a, *block.shape[2:]), y.dtype)  # along rows
        transform = _a_t_4 if m == 4 else functools.partial(_apply, a_t)
        for j in range(a):
            transform([block[i, j] for i in range(a)], [half[p, j] for p in range(m)])
        for p in range(m):
            outs = [target[:, p::m, q::m] for q in range(m)]
            if not outs[0].size:
                continue
            if all(out.shape == outs[0].shape for out in outs):  # whole tiles: all four at once
                rows, cols = outs[0].shape[1:3]
                transform([half[p, j][:, :rows, :cols] for j in range(a)], outs)
                continue
            for q, out in enumerate(outs):
                if out.size:
                    sources = [half[p, j][:, : out.shape[1], : out.shape[2]] for j in range(a)]
                    _apply(a_t[q: q + 1], sources, [out])

    _split_tiles(work, n, tile_rows, products.size)


def _grad_output_tiles(dy: np.ndarray, m: int, tile_rows: int, tile_cols: int) -> np.ndarray:
    """A dY A^T of every output tile (the adjoint of ``_output_tiles``): -> (a, a, n, r, tw, O).

    The tiles of dY (zero beyond its edge) are gathered into (m*m, tiles * O), then one
    product ``kron(A^T, A^T)^T`` (a*a, m*m) @ tiles transforms them all in BLAS.
    """
    a_t = MATRICES[m][2]
    a = m + 2
    n, o = dy.shape[0], dy.shape[-1]
    tiles = scratch("winograd dY", (m, m, n, tile_rows, tile_cols, o), dy.dtype)
    rows, cols = dy.shape[1:3]

    def gather(images: slice) -> None:
        part = tiles[:, :, images]
        if (rows, cols) != (m * tile_rows, m * tile_cols):
            part[...] = 0
        for p in range(m):
            for q in range(m):
                source = dy[images, p::m, q::m]  # (n, <= r, <= tw, O)
                part[p, q, :, : source.shape[1], : source.shape[2]] = source

    split(gather, n, tiles.size)
    both_t = np.kron(a_t, a_t).T.astype(dy.dtype)  # (a*a, m*m)
    out = scratch("winograd dM", (a * a, tiles[0, 0].size), dy.dtype)
    matmul(both_t, tiles.reshape(m * m, -1), out)
    return out.reshape(a, a, n, tile_rows, tile_cols, o)


def _padded_block(x: np.ndarray, spec: ConvSpec, rows: slice, m: int, tile_cols: int
                  ) -> np.ndarray:
    """Zero-padded input rows ``[m*rows.start, m*rows.stop + 2)``, all tile columns."""
    n, c = x.shape[0], x.shape[-1]
    (top, _), (left, _) = spec.padding
    height, width = m * (rows.stop - rows.start) + 2, m * tile_cols + 2
    block = scratch("winograd input", (n, height, width, c), x.dtype)
    row0 = m * rows.start - top  # input row at block row 0
    src_rows = slice(max(row0, 0), min(row0 + height, x.shape[1]))
    src_cols = slice(max(-left, 0), min(width - left, x.shape[2]))
    if src_rows.stop <= src_rows.start or src_cols.stop <= src_cols.start:
        block[...] = 0
        return block
    r0, r1 = src_rows.start - row0, src_rows.stop - row0
    c0, c1 = src_cols.start + left, src_cols.stop + left

    def work(images: slice) -> None:
        part = block[images]
        part[:, r0:r1, c0:c1] = x[images, src_rows, src_cols]
        # zero only the border around the copied part (a reused buffer holds old values)
        part[:, :r0] = 0
        part[:, r1:] = 0
        part[:, r0:r1, :c0] = 0
        part[:, r0:r1, c1:] = 0

    split(work, n, block.size)
    return block


def _weight_tiles(w: np.ndarray, m: int) -> np.ndarray:
    """U = G g G^T as one product: kron(G, G) (a*a, 9) @ g (9, C*O) -> (a*a, C, O).

    A kernel whose output channels are outermost in memory (PyTorch's layout, or the
    adjoint's) is transformed as it lies, (O, 9, C), and U returned as a (a*a, C, O) view:
    the GEMMs read it transposed, and no transposing copy of the kernel is made.
    """
    g = MATRICES[m][1]
    both = np.kron(g, g).astype(w.dtype)
    by_output = output_major(w)
    if by_output is not None:
        by_output = by_output.reshape(w.shape[-1], 9, w.shape[-2])  # (O, 9, C)
        u = scratch("winograd U", (both.shape[0], *by_output.shape[::2]), w.dtype)
        np.matmul(both, by_output, out=u.transpose(1, 0, 2))  # (a*a, O, C) in memory
        return u.transpose(0, 2, 1)
    flat = np.ascontiguousarray(w).reshape(9, -1)
    u = scratch("winograd U", (both.shape[0], flat.shape[1]), w.dtype)
    return matmul(both, flat, u).reshape(-1, *w.shape[2:])


def _plan(spec: ConvSpec, itemsize: int) -> tuple[int, int, int, int]:
    """(m, tile rows, tile columns, scratch bytes per tile row of one image)."""
    m = tile_size(spec.output_size)
    a = m + 2
    tile_rows, tile_cols = (-(-n // m) for n in spec.output_size)
    c, o = spec.in_channels, spec.out_channels
    per_row = tile_cols * a * a * (c + o) + (m * tile_cols + 2) * (m + a) * c
    return m, tile_rows, tile_cols, per_row * itemsize


def _phases(x: np.ndarray, dilation: tuple[int, ...]) -> np.ndarray:
    """(N, dh*h, dw*w, C) -> (dh*dw*N, h, w, C): phase (a, b) holds x[:, a::dh, b::dw]."""
    (dh, dw), (n, height, width, c) = dilation, x.shape
    phased = x.reshape(n, height // dh, dh, width // dw, dw, c).transpose(2, 4, 0, 1, 3, 5)
    return phased.reshape(-1, height // dh, width // dw, c)


def _phases_of_input(x: np.ndarray, spec: ConvSpec) -> tuple[np.ndarray, ConvSpec]:
    """The zero-padded input's phases, and the undilated, unpadded spec that each one needs."""
    sizes = [-(-p // d) * d for p, d in zip(spec.padded_size, spec.dilation)]
    padded = np.zeros((spec.batch, *sizes, spec.in_channels), dtype=x.dtype)
    (top, _), (left, _) = spec.padding
    padded[:, top: top + spec.input_size[0], left: left + spec.input_size[1]] = x
    inner = ConvSpec(
        batch=spec.batch * math.prod(spec.dilation),
        input_size=tuple(s // d for s, d in zip(sizes, spec.dilation)),
        in_channels=spec.in_channels, kernel_size=(3, 3), out_channels=spec.out_channels,
        stride=(1, 1), dilation=(1, 1), padding=((0, 0), (0, 0)),
    )
    return _phases(padded, spec.dilation), inner


@empty_safe("output_shape")
@owns_cores
def forward(x: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """y = A^T [U * V] A tile by tile; (N, H, W, C), (3, 3, C, O) -> (N, OH, OW, O)."""
    if spec.dilation != (1, 1):
        xs, inner = _phases_of_input(x, spec)
        ys = forward(xs, w, inner)
        dh, dw = spec.dilation
        _, h, width, o = ys.shape
        y = ys.reshape(dh, dw, spec.batch, h, width, o).transpose(2, 3, 0, 4, 1, 5)
        y = y.reshape(spec.batch, h * dh, width * dw, o)
        return np.ascontiguousarray(y[:, : spec.output_size[0], : spec.output_size[1]])
    m, tile_rows, tile_cols, per_row = _plan(spec, x.itemsize)
    dtype = np.result_type(x, w)
    u = _weight_tiles(w.astype(dtype, copy=False), m)
    c, o = spec.in_channels, spec.out_channels
    y = np.empty(spec.output_shape, dtype=dtype)
    for batch, rows in slabs(spec.batch, tile_rows, per_row):
        block = _padded_block(x[batch], spec, rows, m, tile_cols)
        v = _input_tiles(block, m, rows.stop - rows.start, tile_cols)
        del block
        products = scratch("winograd M", (u.shape[0], v[0, 0].size // c, o), dtype)
        matmul_stack(v.reshape(u.shape[0], -1, c), u, products)
        del v
        _output_tiles(products.reshape(m + 2, m + 2, -1, rows.stop - rows.start, tile_cols, o),
                      y[batch, m * rows.start: m * rows.stop], m)
    return y


@empty_safe("input_shape")
@owns_cores
def grad_input(grad_output: np.ndarray, w: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dx: the forward pass on dy, kernel rotated 180 degrees, (3, 3, O, C); padding 2d - p."""
    return input_gradient_as_forward(grad_output, w, spec, forward)


@empty_safe("weight_shape")
@owns_cores
def grad_weight(x: np.ndarray, grad_output: np.ndarray, spec: ConvSpec) -> np.ndarray:
    """dw = G^T [sum over tiles of V^T (A dY A^T)] G; -> (3, 3, C, O)."""
    if spec.dilation != (1, 1):
        xs, inner = _phases_of_input(x, spec)
        # the output gradient, zero-padded to whole phases: (N, dh * oh, dw * ow, O)
        sizes = tuple(o * d for o, d in zip(inner.output_size, spec.dilation))
        dy = np.zeros((spec.batch, *sizes, spec.out_channels), dtype=grad_output.dtype)
        dy[:, : spec.output_size[0], : spec.output_size[1]] = grad_output
        return grad_weight(xs, _phases(dy, spec.dilation), inner)
    m, tile_rows, tile_cols, per_row = _plan(spec, x.itemsize)
    a = m + 2
    dtype = np.result_type(x, grad_output)
    c, o = spec.in_channels, spec.out_channels
    du = np.zeros((a * a, c, o), dtype=dtype)
    for batch, rows in slabs(spec.batch, tile_rows, per_row):
        block = _padded_block(x[batch], spec, rows, m, tile_cols)
        v = _input_tiles(block, m, rows.stop - rows.start, tile_cols).reshape(a * a, -1, c)
        del block
        dy = grad_output[batch, m * rows.start: m * rows.stop]
        dm = _grad_output_tiles(dy, m, rows.stop - rows.start, tile_cols).reshape(a * a, -1, o)

        def accumulate(positions: slice, v=v, dm=dm) -> None:
            """dU[k] += V[k]^T dM[k] for the tile positions k of one thread."""
            product = np.empty((c, o), dtype=dtype)
            for k in range(positions.start, positions.stop):
                np.matmul(v[k].T, dm[k], out=product)
                du[k] += product

        split(accumulate, a * a, v.size + dm.size)
    # dg = G^T dU G as one product: kron(G, G)^T (9, a*a) @ dU (a*a, C*O)
    both = np.kron(MATRICES[m][1], MATRICES[m][1]).T.astype(dtype)
    dw = np.empty((9, c * o), dtype=dtype)
    return matmul(both, du.reshape(a * a, -1), dw).reshape(3, 3, c, o)
