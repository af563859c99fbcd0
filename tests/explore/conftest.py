"""Fixtures for the explorer: a network trained quickly, the Flask app and its test client."""

from __future__ import annotations

import pytest

pytest.importorskip("flask", reason="the explorer needs Flask: pip install 'strided[explore]'")

from strided.explore import Network, create_app


@pytest.fixture(scope="session")
def network() -> Network:
    """The lecture's network trained for one epoch on the bundled digits (about 2.5 s)."""
    net = Network()
    net.train(1)
    return net


@pytest.fixture()
def client(network: Network):
    """A test client of the app with the trained network."""
    return create_app(network).test_client()


@pytest.fixture()
def bare_client():
    """A test client of the app without a network."""
    return create_app().test_client()
