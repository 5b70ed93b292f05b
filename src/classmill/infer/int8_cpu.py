"""Whether this CPU runs classmill's INT8 models without losing accuracy.

INT8 models take unsigned 8-bit activations and signed 8-bit weights (U8S8, export/quantize.py:
about 3x faster than S8S8 on CPUs with VNNI). On x86 CPUs without VNNI (AVX512-VNNI or AVX-VNNI),
ONNX Runtime's AVX2 kernel adds pairs of those products in 16 bits, which saturates: measured on
casting (tests/cli/test_int8_on_real_data.py) on an AVX2-only boot of an AMD EPYC, FP32 97.5 %,
INT8 70.8 %; within a point of FP32 on a boot of the same machine with VNNI. The INT8 accuracy an
export records is measured on the exporting machine, so a bundle exported on a VNNI CPU and served
on an older one would lose it silently: loading it there warns instead.
"""

from __future__ import annotations

import platform

from classmill.cpu_features import read_cpuinfo
from classmill.errors import ClassmillWarning


class Int8AccuracyWarning(ClassmillWarning):
    """An INT8 model was loaded on a CPU whose INT8 kernels are known to lose accuracy."""


VNNI_FLAGS = frozenset({"avx512_vnni", "avx_vnni"})
_X86 = frozenset({"x86_64", "amd64", "i386", "i686"})


def int8_saturation_warning(machine: str | None = None, flags: set[str] | None = None) -> str | None:
    """Why INT8 may lose accuracy on this CPU, or None (VNNI present, not x86, or flags unknown).

    machine: platform.machine() by default; flags: this CPU's, from /proc/cpuinfo, by default."""
    machine = (machine or platform.machine()).lower()
    if machine not in _X86:
        return None  # ARM and others have their own int8 kernels; no loss measured there
    if flags is None:
        cpuinfo = read_cpuinfo()
        if cpuinfo is None:
            return None  # not Linux: unknown, and no reason to cry wolf
        flags = cpuinfo[1]
    if flags & VNNI_FLAGS:
        return None
    return ("this CPU has no VNNI (AVX512-VNNI or AVX-VNNI): ONNX Runtime's INT8 kernels can saturate on it "
            "and lose accuracy (measured on casting: FP32 97.5 %, INT8 70.8 %). Use the FP32 model (leave out "
            "--int8 / int8=True), or export with --int8 on this machine, which measures INT8's accuracy here.")
