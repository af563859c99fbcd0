"""``strided explore``: convolution in the browser, every number computed by strided.

A local web server (Flask, the ``explore`` extra; never imported by ``import strided``) serves
a page with two views:

* the playground: an image (the lecture's 4x4 examples, a bundled MNIST digit, a bundled
  photograph, a typed matrix or an upload) and a kernel (named or edited cell by cell), with
  padding, stride and dilation; the output, the size formula with its numbers, and for any
  output pixel its receptive field, products and sum, as ``strided explain`` prints them;
* the network: the lecture's MNIST network as ``strided train`` saves it, its filters, a
  digit's feature maps at each layer, the class probabilities, and the receptive field of a
  clicked feature-map pixel.

``create_app(network)`` is the Flask application; ``Network.from_weights(path)`` loads a model.
"""

from ._network import Network
from ._server import create_app, make_server

__all__ = ["Network", "create_app", "make_server"]
