"""verl entry file for the LGC-V2 dynamic dataset (thin: the code is veritas.verl_adapters.dataset).

    data.custom_cls.path=train/tools/dataset-manager.py data.custom_cls.name=LGCV2DynamicDataset
    data.train_files=lgc_v2://train data.val_files=lgc_v2://val

verl executes this file afresh under a generated module name; it only imports.  When the
``veritas`` package is not installed, the repository this file lives in is put on sys.path.
"""
import importlib.util
import os
import sys

if importlib.util.find_spec("veritas") is None:
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from veritas.verl_adapters.dataset import DynamicEnvDataset, LGCV2DynamicDataset  # noqa: E402

__all__ = ["DynamicEnvDataset", "LGCV2DynamicDataset"]
