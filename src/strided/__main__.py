"""``python -m strided``: the ``strided`` command line."""

from strided.cli import main

if __name__ == "__main__":
    main()
