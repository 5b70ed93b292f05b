"""The offline SDK: a zip with a bundle, the small classmill-runtime wheel, a README and run scripts.

    from classmill.sdk import build_sdk
    build_sdk("runs/first/export/model.cmb", "model-sdk.zip", thresholds={"ng": 0.9})

Never imports torch: the platform server and `classmill sdk` build it from a bundle alone.
"""

from classmill.sdk.package import SdkInfo, build_sdk
from classmill.sdk.runtime_wheel import DISTRIBUTION, RUNTIME_REQUIREMENTS, build_runtime_wheel

__all__ = ["DISTRIBUTION", "RUNTIME_REQUIREMENTS", "SdkInfo", "build_runtime_wheel", "build_sdk"]
