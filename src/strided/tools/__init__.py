"""Tools that show what a convolution does: explanations, shape arithmetic, images, pictures.

Nothing here imports Pillow or matplotlib until a function that needs them is called.

* ``explain``: one 2-D convolution with each output's receptive field, products and sum;
* ``describe_stack``, ``parse_layer``, ``parse_size``: output sizes, padding and parameter
  counts of a stack of conv and pooling layers, in words;
* ``read_image``, ``write_image``, ``filter_image``, ``load_matrix``, ``load_kernel``: images
  and matrices in and out, and filtering any image in bounded memory;
* ``plot_explanation``, ``animate_explanation``, ``plot_filter_bank``, ``plot_feature_maps``,
  ``plot_receptive_field``, ``plot_connectivity``: PNG pictures (and a GIF).
"""

from ._explain import Explanation, explain, format_matrix, format_number
from ._images import (
    filter_image,
    load_kernel,
    load_matrix,
    read_image,
    to_pixels,
    write_atomic,
    write_image,
)
from ._pictures import (
    animate_explanation,
    plot_connectivity,
    plot_explanation,
    plot_feature_maps,
    plot_filter_bank,
    plot_receptive_field,
)
from ._shapes import (
    LayerSpec,
    LayerStep,
    describe_stack,
    parse_layer,
    parse_size,
    receptive_field_counts,
    receptive_field_size,
    stack_steps,
)

__all__ = [
    "Explanation",
    "LayerSpec",
    "LayerStep",
    "animate_explanation",
    "describe_stack",
    "explain",
    "filter_image",
    "format_matrix",
    "format_number",
    "load_kernel",
    "load_matrix",
    "parse_layer",
    "parse_size",
    "plot_connectivity",
    "plot_explanation",
    "plot_feature_maps",
    "plot_filter_bank",
    "plot_receptive_field",
    "read_image",
    "receptive_field_counts",
    "receptive_field_size",
    "stack_steps",
    "to_pixels",
    "write_atomic",
    "write_image",
]
