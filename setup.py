"""Builds strided's compiled kernels (``csrc/``); everything else is in pyproject.toml.

Each instruction-set level is one source compiled with that level's flags (NumPy's dispatch
sources do the same); the module picks the best level the CPU has at import.  setuptools runs
every source through one set of flags, so ``BuildExt`` compiles the level sources itself.
"""

from __future__ import annotations

import copy
import os
import platform
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

X86 = platform.machine().lower() in {"x86_64", "amd64", "x64"}
UNIX_LIKE = sys.platform != "win32"  # GCC and Clang: the level flags and __builtin_cpu_supports

#: Flags per level source (isa_*.cpp); one not named here gets only the common flags.
LEVEL_FLAGS = {
    "isa_avx2.cpp": ["-mavx2", "-mfma"],
    "isa_avx512.cpp": ["-mavx512f", "-mavx2", "-mfma"],
}


class BuildExt(build_ext):
    """build_ext that compiles each level source with its own flags, the level sources at
    once on every CPU (each is the kernels compiled whole), then links them all."""

    def build_extension(self, ext: Extension) -> None:
        levels = [s for s in ext.sources if Path(s).name.startswith("isa_")]

        def compile_level(source: str) -> list[str]:
            return self.compiler.compile(
                [source], output_dir=self.build_temp, macros=ext.define_macros,
                include_dirs=ext.include_dirs, depends=ext.depends,
                extra_postargs=[*ext.extra_compile_args, *LEVEL_FLAGS.get(Path(source).name, [])])

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            objects = [o for compiled in pool.map(compile_level, levels) for o in compiled]
        rest = copy.copy(ext)
        rest.sources = [s for s in ext.sources if s not in levels]
        rest.extra_objects = [*ext.extra_objects, *objects]
        rest.depends = [*ext.depends, *levels]  # relinked when only a level source changed
        super().build_extension(rest)


sources = ["csrc/module.cpp", "csrc/pool.cpp", "csrc/isa_portable.cpp"]
macros: list[tuple[str, str | None]] = []
if X86 and UNIX_LIKE:
    sources += ["csrc/isa_avx2.cpp", "csrc/isa_avx512.cpp"]
    macros.append(("STRIDED_X86", "1"))

kernels = Extension(
    "strided._kernels",
    sources=sources,
    depends=[str(p) for p in Path("csrc").glob("*.[hi]*")],
    define_macros=macros,
    language="c++",
    # -g0: no debug information (Python's own flags ask for it; the kernels' templates make
    # it large and slow to write); -fno-math-errno: sqrt vectorises (nothing reads errno)
    extra_compile_args=(["-O3", "-g0", "-std=c++17", "-fvisibility=hidden", "-fno-math-errno"]
                        if UNIX_LIKE else ["/O2"]),
    extra_link_args=["-pthread"] if UNIX_LIKE else [],
)

setup(ext_modules=[kernels], cmdclass={"build_ext": BuildExt})
