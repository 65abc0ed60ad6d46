"""Conversions at the boundary: arrays, labels, metadata, seeds and threads.

Every compute function of the extension takes a C-contiguous float32 matrix
and uses it in place. ``as_matrix`` returns the caller's array itself when it
already is one (no copy, also for numpy memmaps and DLPack/``__array__``
objects that expose such memory, e.g. PyTorch CPU tensors) and converts
anything else once, on purpose.
"""
from __future__ import annotations

import math
import numbers
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ["as_matrix", "as_strings", "metadata_columns", "resolve_seed", "resolve_threads"]

_DLPACK_CPU = (1, 3)  # kDLCPU, kDLCUDAHost (pinned host memory)


def _is_sparse(x: Any) -> bool:
    return hasattr(x, "tocsr") and hasattr(x, "nnz")


def _to_numpy(x: Any, name: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return np.asarray(x)  # a memmap or other subclass as a plain view: no copy
    device = getattr(x, "__dlpack_device__", None)
    if device is not None:
        try:
            kind = int(device()[0])
        except Exception:
            kind = 1
        if kind not in _DLPACK_CPU:
            where = getattr(x, "device", f"DLPack device type {kind}")
            raise TypeError(f"{name} is in device memory ({where}); Prism reads host memory: pass {name}.cpu() "
                            "(or a numpy array)")
    if hasattr(x, "__dlpack__"):
        try:
            return np.from_dlpack(x)
        except (BufferError, TypeError, RuntimeError, ValueError):
            pass  # e.g. a tensor that requires grad: try __array__ below
    try:
        return np.asarray(x)
    except Exception as e:
        raise TypeError(f"{name}: cannot read it as an array ({type(x).__name__}: {e})") from e


def as_matrix(x: Any, name: str = "X") -> np.ndarray:
    """``x`` as a C-contiguous float32 array of shape (n_samples, n_features).

    Returns ``x`` itself (as an ndarray view) when it already is one; converts
    other dtypes (float64, float16, integers, bool) and orders (Fortran,
    strided) with one copy. Raises TypeError for sparse or device arrays and
    ValueError for anything that is not a 2-D numeric array.
    """
    if x is None:
        raise TypeError(f"{name} is None; expected an array of shape (n_samples, n_features)")
    if _is_sparse(x):
        raise TypeError(f"{name} is a sparse matrix; Prism needs dense vectors: pass {name}.toarray()")
    a = _to_numpy(x, name)
    if a.dtype.kind not in "fiub":
        raise ValueError(f"{name} must hold numbers, got an array of dtype {a.dtype}")
    if a.ndim != 2:
        hint = ""
        if a.ndim == 1:
            hint = (f"; reshape it with {name}.reshape(-1, 1) for one feature or {name}.reshape(1, -1) "
                    "for one sample")
        raise ValueError(f"{name} must be a 2-D array of shape (n_samples, n_features), got a {a.ndim}-D array "
                         f"of shape {a.shape}{hint}")
    if a.dtype == np.float32 and a.flags.c_contiguous and a.flags.aligned:
        return a
    return np.ascontiguousarray(a, dtype=np.float32)


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return repr(v)[:-2] if v.is_integer() and abs(v) < 1e15 else repr(v)
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    return str(v)


def as_strings(values: Any, n: int, name: str = "labels") -> List[str]:
    """One string per row from a numpy array, a list, a pandas Series or
    Categorical (strings, integers, floats, categories; missing values as "")."""
    if hasattr(values, "to_numpy") and hasattr(values, "dtype"):  # pandas Series, Index, Categorical
        a = values.to_numpy(dtype=object)
    elif isinstance(values, np.ndarray):
        a = values
    else:
        if isinstance(values, (str, bytes)):
            raise TypeError(f"{name} must have one value per row, got a single string {values!r}")
        try:
            a = np.asarray(values, dtype=object)
        except Exception as e:
            raise TypeError(f"{name}: cannot read it as one value per row ({type(values).__name__})") from e
    if a.ndim == 2 and 1 in a.shape:
        a = a.reshape(-1)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D with one value per row, got shape {a.shape}")
    if len(a) != n:
        raise ValueError(f"{name} has {len(a)} values, but there are {n} rows")
    if a.dtype.kind in "iub":
        return a.astype(str).tolist()
    if a.dtype.kind == "U":
        return a.tolist()
    return [_text(v) for v in a.tolist()]


def _is_frame(x: Any) -> bool:
    return hasattr(x, "columns") and hasattr(x, "iloc")


def metadata_columns(metadata: Any, labels: Any, n: int) -> Tuple[List[str], List[List[str]], int]:
    """(names, string columns, label column index or -1) from a pandas
    DataFrame or Series, a dict of columns, or one 1-D array/list (column
    "label"); ``labels`` (values, or the name of a metadata column) picks or
    adds the label column. As Prism's readers do, the label column is
    otherwise the one named "label", else the first."""
    names: List[str] = []
    columns: List[List[str]] = []
    if metadata is not None:
        if _is_frame(metadata):
            for c in metadata.columns:
                names.append(str(c))
                columns.append(as_strings(metadata[c], n, f"metadata column {c!r}"))
        elif isinstance(metadata, dict):
            for k, v in metadata.items():
                names.append(str(k))
                columns.append(as_strings(v, n, f"metadata column {k!r}"))
        else:
            label = getattr(metadata, "name", None)
            names.append(str(label) if label is not None else "label")
            columns.append(as_strings(metadata, n, "metadata"))
    label_index = -1
    if isinstance(labels, str):
        if labels not in names:
            raise ValueError(f"labels={labels!r} is not a metadata column (columns: {', '.join(names) or 'none'})")
        label_index = names.index(labels)
    elif labels is not None:
        values = as_strings(labels, n, "labels")
        if "label" in names:
            columns[names.index("label")] = values
        else:
            names.append("label")
            columns.append(values)
        label_index = names.index("label")
    elif names:
        label_index = names.index("label") if "label" in names else 0
    return names, columns, label_index


def resolve_seed(random_state: Any) -> int:
    """A 64-bit seed: the int itself, one drawn from a numpy RandomState or
    Generator, or a fresh random one for None (recorded in run_info_)."""
    if random_state is None:
        return int.from_bytes(os.urandom(8), "little") >> 1
    if isinstance(random_state, (bool, np.bool_)):
        raise ValueError(f"random_state must be an int, a numpy RandomState/Generator or None, got {random_state!r}")
    if isinstance(random_state, numbers.Integral):
        seed = int(random_state)
        if not 0 <= seed < 2**64:
            raise ValueError(f"random_state must be in [0, 2**64), got {seed}")
        return seed
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(2**63))
    raise ValueError(f"random_state must be an int, a numpy RandomState/Generator or None, got {random_state!r}")


def resolve_threads(n_jobs: Any) -> int:
    """OpenMP threads for n_jobs as scikit-learn/joblib read it: None or -1
    all cores (0 returned), k > 0 that many, -2 all but one, ..."""
    if n_jobs is None:
        return 0
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise ValueError(f"n_jobs must be a non-zero integer or None, got {n_jobs!r}")
    n = int(n_jobs)
    if n > 0:
        return n
    if n == -1:
        return 0
    return max(1, (os.cpu_count() or 1) + 1 + n)


def check_int(name: str, value: Any, low: int = 1) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be at least {low}, got {value}")
    return int(value)


def check_str(name: str, value: Any, choices: Optional[Sequence[str]] = None) -> str:
    if not isinstance(value, str) or (choices is not None and value not in choices):
        expected = f"one of: {', '.join(choices)}" if choices else "a string"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return value


def table_value(v: Any) -> Any:
    """numpy scalars as Python ones, so that the engine's table reads them."""
    return v.item() if isinstance(v, np.generic) else v


Params = Dict[str, Any]
