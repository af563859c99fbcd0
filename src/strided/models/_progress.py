"""Progress for long work: a tqdm bar on a terminal, one line per epoch elsewhere, or nothing.

``verbose`` follows Keras: 0 silent, 1 a progress bar (step count, loss, metrics, time left),
2 one line per epoch, "auto" a bar when standard output is a terminal and one line per epoch
otherwise.  As Keras' progress bar, ``verbose=1`` draws a bar only on a terminal and writes
one line per epoch to a file.  The bar has a fixed width, and when it ends the epoch's values
(validation ones included) get a line of their own, so that an 80-column terminal cuts none
of them.  tqdm is imported only when a bar is drawn; without tqdm, a bar becomes one line
per epoch.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO


def resolve_verbose(verbose: int | str, stream: TextIO | None = None) -> int:
    """0, 1 or 2 from Keras' ``verbose`` argument ("auto" looks at the terminal)."""
    if verbose == "auto":
        stream = stream or sys.stdout
        return 1 if getattr(stream, "isatty", lambda: False)() else 2
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1, 2 or 'auto'. Received: verbose={verbose!r}")
    return int(verbose)


def _format(values: dict[str, float]) -> str:
    return " - ".join(f"{k}: {v:.4f}" for k, v in values.items())


class Progress:
    """Progress of ``total`` steps titled ``title`` (e.g. "Epoch 3/10")."""

    def __init__(self, total: int, title: str, verbose: int, unit: str = "step",
                 stream: TextIO | None = None) -> None:
        self.total, self.title, self.verbose = total, title, verbose
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()
        self._bar = None
        if verbose == 1 and not getattr(self.stream, "isatty", lambda: False)():
            self.verbose = 2  # a file gets no bar: its updates would pile up on one line
        if self.verbose == 1:
            try:
                from tqdm.auto import tqdm
            except ImportError:  # no tqdm: fall back to one line per epoch
                self.verbose = 2
            else:
                self._bar = tqdm(total=total, desc=title, unit=unit, file=self.stream,
                                 dynamic_ncols=True, leave=True,
                                 bar_format="{desc}: {n_fmt}/{total_fmt} {bar:12} "
                                            "[{elapsed}<{remaining}]{postfix}")

    def update(self, steps: int, values: dict[str, float]) -> None:
        """``steps`` more steps done; ``values`` are the running loss and metrics."""
        if self._bar is not None:
            self._bar.set_postfix_str(_format(values), refresh=False)
            self._bar.update(steps)

    def close(self, values: dict[str, float]) -> None:
        """The end: final values (including validation ones) on the bar or on one line."""
        elapsed = time.perf_counter() - self.start
        if self._bar is not None:
            self._bar.set_postfix_str("", refresh=False)
            self._bar.close()
            if values:
                print(f"  {_format(values)}", file=self.stream, flush=True)
        elif self.verbose == 2:
            per_step = 1000 * elapsed / max(1, self.total)
            print(f"{self.title}: {self.total}/{self.total} - {elapsed:.1f}s "
                  f"{per_step:.0f}ms/step - {_format(values)}", file=self.stream, flush=True)
