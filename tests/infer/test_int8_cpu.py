"""Which CPUs get the INT8 warning: x86 without VNNI, where ONNX Runtime's U8S8 kernel saturates."""

from __future__ import annotations

import pytest

from classmill.cpu_features import read_cpuinfo
from classmill.infer.int8_cpu import int8_saturation_warning

# Two logical CPUs, as /proc/cpuinfo lists them (abridged): the first one's fields are read.
_X86_CPUINFO = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni
processor\t: 1
model name\t: AMD EPYC
flags\t\t: fpu sse2 avx2 fma avx512f avx512_vnni
"""
_ARM_CPUINFO = """processor\t: 0
BogoMIPS\t: 50.00
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics asimddp
CPU implementer\t: 0x41
"""


def test_read_cpuinfo_gives_the_model_and_flags_of_x86_and_arm(tmp_path):
    (tmp_path / "x86").write_text(_X86_CPUINFO)
    (tmp_path / "arm").write_text(_ARM_CPUINFO)
    model, flags = read_cpuinfo(tmp_path / "x86")
    assert model == "AMD EPYC" and {"avx2", "avx512_vnni"} <= flags and "fpu" in flags
    _, arm_flags = read_cpuinfo(tmp_path / "arm")
    assert "asimddp" in arm_flags and "avx2" not in arm_flags


def test_read_cpuinfo_is_none_where_there_is_no_cpuinfo(tmp_path):
    # Unknown (not Linux) must stay distinguishable from "no flags": only the first gives no warning.
    assert read_cpuinfo(tmp_path / "missing") is None


@pytest.mark.parametrize("flags", [{"avx2", "avx512f"}, {"avx2"}, set()])
def test_x86_without_vnni_is_warned_with_the_measured_loss_and_the_way_out(flags):
    warning = int8_saturation_warning(machine="x86_64", flags=flags)
    assert warning is not None
    assert "no VNNI" in warning and "70.8 %" in warning and "FP32 model" in warning


@pytest.mark.parametrize("machine, flags", [
    ("x86_64", {"avx2", "avx512f", "avx512_vnni"}),  # Ice Lake, Zen 4 and later
    ("AMD64", {"avx2", "avx_vnni"}),  # Alder Lake's AVX-VNNI; Windows spells the machine AMD64
    ("aarch64", set()),  # ARM: other kernels, no loss measured
])
def test_vnni_cpus_and_other_architectures_get_no_warning(machine, flags):
    assert int8_saturation_warning(machine=machine, flags=flags) is None

