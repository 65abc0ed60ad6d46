"""Estimators made from the engine's parameter table.

The keyword arguments of UMAP, TSNE and PCA, their defaults, their order of
documentation and their docstrings come from the table in
engine/include/prism/params.hpp (the same table the command line's flags,
batch plans and reports come from), read from the extension at import. Each
class only adds the structural parameters (n_components, random_state,
backend, ...) that every front end spells its own way, the positional order
its peer library uses, and the peer library's options Prism does not have.

``__init__`` is generated as real Python code so that ``inspect.signature``,
``help()``, scikit-learn's ``get_params``/``clone`` and IDEs see ordinary
keyword arguments with defaults. As scikit-learn asks, it only stores them;
``fit`` validates them through the table and raises ValueError with the
engine's message.
"""
from __future__ import annotations

import numbers
import textwrap
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from . import _prism

_TABLE: List[Dict[str, Any]] = _prism.param_table()
_ANNOTATIONS = {"boolean": "bool", "integer": "int", "real": "float", "choice": "str"}


class Structural:
    """A parameter every front end spells its own way (n_components ~ --dims)."""

    def __init__(self, default: Any, annotation: str, doc: str):
        self.default, self.annotation, self.doc = default, annotation, doc


def table_rows(method: str) -> List[Dict[str, Any]]:
    """The table's rows of one method, in the table's order."""
    return [r for r in _TABLE if r["method"] == method]


def _range_text(row: Dict[str, Any]) -> str:
    t = row["type"]
    if t == "choice":
        return "One of " + ", ".join(repr(c) for c in row["choices"])
    if t == "boolean":
        return ""
    fmt = (lambda v: f"{int(v):,}") if t == "integer" else (lambda v: f"{v:g}")
    if row["max"] == float("inf"):
        return "Range: " + ("> " if row["min_open"] else ">= ") + fmt(row["min"])
    return f"Range: {'(' if row['min_open'] else '['}{fmt(row['min'])}, {fmt(row['max'])}]"


def _default_text(v: Any) -> str:
    return repr(v)


class Estimator:
    """Base of Prism's estimators: scikit-learn's get_params/set_params/repr
    protocol without importing scikit-learn. Subclasses set:

    _method       the table's method ("umap", "tsne", "pca")
    _structural   name -> Structural, the parameters outside the table
    _positional   the names that may be passed by position, in order
    _head         preferred order of the other names (the peer library's)
    _tail         names put last
    _none_auto    table rows whose automatic value Python spells None
    _foreign      the peer library's options Prism lacks: name -> (the values
                  that mean what Prism does anyway, why the others are refused)
    _intro, _attributes, _examples   docstring parts
    """

    _method: str = ""
    _structural: Dict[str, Structural] = {}
    _positional: Tuple[str, ...] = ()
    _head: Tuple[str, ...] = ()
    _tail: Tuple[str, ...] = ()
    _none_auto: frozenset = frozenset()
    _foreign: Dict[str, Tuple[Tuple[Any, ...], str]] = {}
    _peer: str = ""
    _intro: str = ""
    _attributes: str = ""
    _examples: str = ""

    # filled by build_estimator
    _param_names: Tuple[str, ...] = ()
    _table_names: Tuple[str, ...] = ()
    _aliases: Dict[str, str] = {}
    _defaults: Dict[str, Any] = {}

    # ---- scikit-learn's estimator protocol ----------------------------------------
    def get_params(self, deep: bool = True) -> Dict[str, Any]:
        """The constructor's parameters and their current values (scikit-learn's protocol)."""
        return {name: getattr(self, name) for name in self._param_names}

    def set_params(self, **params: Any) -> "Estimator":
        """Sets parameters by name (or by an alias from the table); returns self."""
        for key, value in params.items():
            name = key if key in self._param_names else self._aliases.get(key)
            if name is None:
                raise ValueError(f"Invalid parameter {key!r} for estimator {type(self).__name__}. "
                                 f"Valid parameters are: {sorted(self._param_names)!r}.")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = []
        for name in self._param_names:
            v = getattr(self, name)
            if not _equal(v, self._defaults[name]):
                changed.append(f"{name}={v!r}")
        return f"{type(self).__name__}({', '.join(changed)})"

    def __sklearn_tags__(self):  # only scikit-learn calls it, so it is importable then
        from sklearn.utils import InputTags, Tags, TargetTags, TransformerTags

        tags = Tags(estimator_type=None, target_tags=TargetTags(required=False),
                    transformer_tags=TransformerTags(preserves_dtype=["float32"]),
                    input_tags=InputTags(allow_nan=False, sparse=False))
        tags.non_deterministic = self._method != "pca"
        return tags

    def _more_tags(self) -> Dict[str, Any]:  # scikit-learn < 1.6
        return {"non_deterministic": self._method != "pca", "preserves_dtype": [], "allow_nan": False}

    # ---- helpers for the subclasses ---------------------------------------------------
    def _table_params(self) -> Dict[str, Any]:
        """The table's parameters as the engine reads them (None: automatic)."""
        from ._convert import table_value

        return {name: table_value(getattr(self, name)) for name in self._table_names}

    def _absorb(self, extra: Dict[str, Any]) -> None:
        """Keyword arguments that are not parameters: the table's aliases
        (n_iter for max_iter, theta for angle, ...), the peer library's options
        at a value that means what Prism does anyway, and nothing else."""
        cls = type(self).__name__
        for key, value in extra.items():
            name = self._aliases.get(key)
            if name is not None:
                current = getattr(self, name)
                if not _equal(current, self._defaults[name]) and not _equal(current, value):
                    raise TypeError(f"prism.{cls}() got both {name}={current!r} and its alias {key}={value!r}")
                setattr(self, name, value)
                continue
            if key in self._foreign:
                accepted, why = self._foreign[key]
                if any(_equal(value, a) for a in accepted):
                    continue
                shown = ", ".join(f"{key}={a!r}" for a in accepted)
                raise TypeError(f"prism.{cls}(): {self._peer}'s option {key}={value!r} is not available in Prism "
                                f"({why}); only {shown}, what Prism does, is accepted")
            raise TypeError(f"prism.{cls}() got an unexpected keyword argument {key!r}; its parameters are: "
                            f"{', '.join(self._param_names)}")

    def _clear_fit(self) -> None:
        """Drops a previous fit: an interrupted or failed fit leaves the estimator unfitted."""
        for name in list(vars(self)):
            if name.endswith("_") and not name.startswith("__"):
                delattr(self, name)

    def _check_fitted(self, attribute: str) -> None:
        if not hasattr(self, attribute):
            cls = type(self).__name__
            try:
                from sklearn.exceptions import NotFittedError as Error
            except ImportError:
                Error = AttributeError
            raise Error(f"This {cls} instance is not fitted yet. Call 'fit' with appropriate arguments first.")

    def __sklearn_is_fitted__(self) -> bool:
        return any(k.endswith("_") and not k.startswith("__") for k in vars(self))


def _equal(a: Any, b: Any) -> bool:
    """a == b as a parameter value: True is not 1, an array equals nothing but itself."""
    if a is b:
        return True
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if type(a) is not type(b) and not (isinstance(a, numbers.Number) and isinstance(b, numbers.Number)):
        return False
    try:
        return bool(a == b)
    except Exception:
        return False


def _param_doc(name: str, annotation: str, default: Any, help_text: str, extra: str = "") -> str:
    head = f"{name} : {annotation}, default={_default_text(default)}"
    body = textwrap.fill(help_text + extra, width=76, initial_indent="    ", subsequent_indent="    ",
                         break_on_hyphens=False, break_long_words=False)
    return f"{head}\n{body}"


def build_estimator(cls: type) -> type:
    """Generates cls.__init__ (signature, defaults, annotations) and the
    class docstring from the table rows of cls._method."""
    rows = {r["name"]: r for r in table_rows(cls._method)}
    table_order = list(rows)
    known = set(rows) | set(cls._structural)
    for name in (*cls._positional, *cls._head, *cls._tail):
        if name not in known:
            raise RuntimeError(f"{cls.__name__}: {name!r} is neither a table row of {cls._method} nor structural")
    order: List[str] = []
    for name in (*cls._positional, *cls._head):
        if name not in order:
            order.append(name)
    for name in [*table_order, *cls._structural]:
        if name not in order and name not in cls._tail:
            order.append(name)
    order += [n for n in cls._tail if n not in order]

    defaults: Dict[str, Any] = {}
    annotations: Dict[str, str] = {}
    docs: List[str] = []
    aliases: Dict[str, str] = {}
    for name in order:
        if name in rows:
            r = rows[name]
            default = r["default"]
            ann = _ANNOTATIONS[r["type"]]
            rng = _range_text(r)
            extra = f". {rng}." if rng else "."
            if r["automatic"] is not None:
                if name in cls._none_auto:
                    default = None if default == r["automatic"] else default
                    ann = f"Optional[{ann}]"
                    extra += f" None (or {r['automatic']!r}): computed from the data."
                else:
                    ann = f"Union[{ann}, str]"
                    extra += f" {r['automatic']!r} (or None): computed from the data."
            if r["choices"]:
                ann = "str"
            names = r["aliases"]
            if names:
                extra += " Also accepted as " + ", ".join(names) + "."
                for a in names:
                    aliases[a] = name
            extra += f" Command line: {r['flag']}."
            doc = _param_doc(name, ann, default, r["help"].rstrip("."), extra)
        else:
            s = cls._structural[name]
            default, ann = s.default, s.annotation
            doc = _param_doc(name, ann, default, s.doc.rstrip("."), ".")
        defaults[name] = default
        annotations[name] = ann
        docs.append(doc)

    args = ["self"]
    for i, name in enumerate(order):
        if i == len(cls._positional):
            args.append("*")
        args.append(f"{name}: {annotations[name]} = _defaults[{name!r}]")
    args.append("**kwargs")
    body = [f"    self.{n} = {n}" for n in order] + ["    if kwargs:", "        self._absorb(kwargs)"]
    source = f"def __init__({', '.join(args)}) -> None:\n" + "\n".join(body) + "\n"
    namespace: Dict[str, Any] = {"_defaults": defaults, "Optional": Optional, "Union": Union, "Any": Any}
    exec(compile(source, f"<prism.{cls.__name__}.__init__>", "exec", dont_inherit=True), namespace)
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__name__}.__init__"
    init.__module__ = cls.__module__
    init.__doc__ = f"See help(prism.{cls.__name__}) for the parameters."
    cls.__init__ = init  # type: ignore[misc]

    cls._param_names = tuple(order)
    cls._table_names = tuple(n for n in order if n in rows)
    cls._aliases = aliases
    cls._defaults = defaults
    foreign = ""
    if cls._foreign:
        foreign = "\n\n" + textwrap.fill(
            f"Options of {cls._peer} that Prism lacks raise a TypeError unless given the value that means what "
            "Prism does anyway: " + ", ".join(f"{k}={v[0][0]!r}" for k, v in cls._foreign.items()) + ".",
            width=80, break_on_hyphens=False, break_long_words=False)
    cls.__doc__ = (textwrap.dedent(cls._intro).strip() + "\n\nParameters\n----------\n" + "\n".join(docs) +
                   foreign + "\n\nAttributes\n----------\n" + textwrap.dedent(cls._attributes).strip() +
                   ("\n\nExamples\n--------\n" + textwrap.dedent(cls._examples).strip() if cls._examples else "") +
                   "\n")
    return cls
