"""Read an MMAction 0.x/1.x Python config as data, without executing a line of it.

The file is parsed with `ast` and only a small, safe subset is evaluated: literals, `dict(...)`,
`list(...)`, `tuple(...)`, names bound earlier (in the file or its bases), arithmetic on literals,
f-strings, indexing, `_base_` inheritance with `_delete_=True`, and `{{_base_.x}}` references.
Everything else (imports, other calls, lambdas, statements) becomes an `Unsupported` value or a
note, so the translator can list it by config path instead of guessing.
"""

from __future__ import annotations

import ast
import operator
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vidact.errors import RecipeError


@dataclass(frozen=True)
class Unsupported:
    """A config value that cannot be read without running code (a call, a lambda, an import ...)."""

    reason: str
    where: str
    """`file:line` of the expression."""

    def __str__(self) -> str:
        return f"{self.reason} ({self.where})"


@dataclass(frozen=True)
class Note:
    """A statement of the config that was not evaluated (an import, a loop, a bare call ...)."""

    where: str
    what: str


@dataclass
class MMConfig:
    """The merged variables of a config and its bases.

    Attributes:
        values: top-level names -> plain values (dicts, lists, tuples, scalars, `Unsupported`).
        helpers: top-level names that other values referred to (`dataset_type`, `img_norm_cfg` ...):
            their content is already folded in where they were used.
        notes: statements that were not evaluated.
        files: the config and every base read, in merge order.
    """

    values: dict[str, Any]
    helpers: set[str] = field(default_factory=set)
    notes: list[Note] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


_BASE_REF = re.compile(r"\{\{\s*_base_\.([\w.]+)\s*\}\}")
_BINOPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}
_MAX_POWER = 64  # `2 ** 10**9` must not hang the reader


def read_mmconfig(path: str | Path) -> MMConfig:
    """Read `path` and its `_base_` files into one merged set of variables.

    Raises:
        RecipeError: missing or unreadable file, Python syntax error (`file:line: ...`), a base that
            includes itself, or a `read_base()` (new-style, import-based) config.
    """
    return _read(Path(path), str(path), ())


# ---- files and bases ---------------------------------------------------------------------------


def _read(path: Path, display: str, stack: tuple[Path, ...]) -> MMConfig:
    resolved = path.resolve()
    if resolved in stack:
        chain = " -> ".join(p.name for p in (*stack[stack.index(resolved):], resolved))
        raise RecipeError(f"{display}: _base_ files include each other: {chain}")
    tree = _parse(path, display)
    merged = MMConfig(values={})
    bases = _base_paths(tree, display)
    for base in bases:
        base_display = os.path.normpath(os.path.join(os.path.dirname(display), base))
        if not (path.parent / base).is_file():
            raise RecipeError(f"{display}: _base_ file not found: {base_display}")
        inner = _read(path.parent / base, base_display, (*stack, resolved))
        merged.values.update(inner.values)  # names of sibling bases: the later base wins
        merged.helpers |= inner.helpers
        merged.notes += inner.notes
        merged.files += inner.files
    own = _Evaluator(display, merged.values).run(tree)
    for name, value in own.values.items():
        if isinstance(merged.values.get(name), dict) and isinstance(value, dict) and not value.get("_delete_"):
            merged.values[name] = merge_dicts(merged.values[name], value)
        else:
            merged.values[name] = _drop_delete(value)
    merged.helpers |= own.helpers
    merged.notes += own.notes
    merged.files.append(display)
    return merged


def _parse(path: Path, display: str) -> ast.Module:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError(f"{display}: no such file") from None
    except IsADirectoryError:
        raise RecipeError(f"{display}: is a directory, not a config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError(f"{display}: cannot read: {exc}") from None
    try:
        return ast.parse(text, filename=display)
    except SyntaxError as exc:
        raise RecipeError(f"{display}:{exc.lineno or 0}: invalid Python: {exc.msg}") from None


def _base_paths(tree: ast.Module, display: str) -> list[str]:
    for node in tree.body:
        if isinstance(node, ast.With) and any(_is_read_base(item.context_expr) for item in node.items):
            raise RecipeError(
                f"{display}:{node.lineno}: 'with read_base()' (MMAction2's import-based config style) is "
                "not supported; import the classic config of the same name (configs/ in MMAction2)"
            )
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
            value = _Evaluator(display, {}).value(node.value)
            if isinstance(value, str):
                value = [value]
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise RecipeError(f"{display}:{node.lineno}: _base_ must be a path or a list of paths")
            for base in value:
                if "::" in base:
                    raise RecipeError(f"{display}:{node.lineno}: package base '{base}' is not supported")
            return list(value)
    return []


def _is_read_base(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "read_base"


def merge_dicts(base: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """MMAction's merge: child mappings merge into the base's key by key unless they carry
    `_delete_=True` (then they replace it); anything else replaces."""
    out = dict(base)
    for key, value in child.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and not value.get("_delete_", False):
            out[key] = merge_dicts(out[key], value)
        else:
            out[key] = _drop_delete(value)
    return out


def _drop_delete(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_delete(v) for k, v in value.items() if k != "_delete_"}
    if isinstance(value, list):
        return [_drop_delete(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_drop_delete(v) for v in value)
    return value


# ---- expressions -------------------------------------------------------------------------------


class _Evaluator:
    """Evaluates one file's top-level assignments; `base` holds the merged names of its bases."""

    def __init__(self, display: str, base: dict[str, Any]) -> None:
        self.display = display
        self.base = base
        self.names: dict[str, Any] = {}
        self.used: set[str] = set()
        self.notes: list[Note] = []

    def run(self, tree: ast.Module) -> MMConfig:
        for node in tree.body:
            self._statement(node)
        values = {k: v for k, v in self.names.items() if not k.startswith("__") and k != "_base_"}
        return MMConfig(values=values, helpers=self.used, notes=self.notes)

    def _where(self, node: ast.AST) -> str:
        return f"{self.display}:{getattr(node, 'lineno', 0)}"

    def _statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            self.names[node.targets[0].id] = self.value(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
            self.names[node.target.id] = self.value(node.value)
        elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            pass  # a docstring
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.asname or alias.name.split(".")[0] for alias in node.names]
            module = node.module if isinstance(node, ast.ImportFrom) else ", ".join(a.name for a in node.names)
            for name in names:
                self.names[name] = Unsupported(f"imported from '{module}' (imports are not run)", self._where(node))
            self.notes.append(Note(self._where(node), f"import of {module} not run"))
        else:
            what = ast.unparse(node).splitlines()[0][:80]
            self.notes.append(Note(self._where(node), f"statement not run: {what}"))

    def value(self, node: ast.expr) -> Any:
        """The value of an expression, or `Unsupported` when it would need code to run."""
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            return Unsupported(f"'{_short(node)}' is not a literal (not evaluated)", self._where(node))
        return method(node)

    def _Constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, str):
            return self._base_refs(node.value, node)
        if isinstance(node.value, bytes) or node.value is Ellipsis:
            return Unsupported(f"'{_short(node)}' is not a config value", self._where(node))
        return node.value

    def _List(self, node: ast.List) -> list:
        return self._items(node.elts)

    def _Tuple(self, node: ast.Tuple) -> tuple:
        return tuple(self._items(node.elts))

    def _items(self, elts: list[ast.expr]) -> list:
        out: list = []
        for elt in elts:
            if isinstance(elt, ast.Starred):
                inner = self.value(elt.value)
                out.extend(inner if isinstance(inner, (list, tuple)) else [inner])
            else:
                out.append(self.value(elt))
        return out

    def _Dict(self, node: ast.Dict) -> dict:
        out: dict = {}
        for key, value in zip(node.keys, node.values):
            if key is None:  # {**other}
                self._unpack(out, value)
            else:
                k = self.value(key)
                out[k if isinstance(k, (str, int, float, bool)) else str(k)] = self.value(value)
        return out

    def _unpack(self, out: dict, node: ast.expr) -> None:
        inner = self.value(node)
        if isinstance(inner, dict):
            out.update(inner)
        else:
            out[f"**{_short(node)}"] = Unsupported(f"'**{_short(node)}' is not a mapping", self._where(node))

    def _Set(self, node: ast.Set) -> Any:
        # {{_base_.a.b}} written without quotes (mmcv's documented form) parses as a set of a set.
        if len(node.elts) == 1 and isinstance(node.elts[0], ast.Set) and len(node.elts[0].elts) == 1:
            path = _dotted(node.elts[0].elts[0])
            if path and path[0] == "_base_":
                return self._from_base(path[1:], node)
        return Unsupported(f"'{_short(node)}' (a set) is not a config value", self._where(node))

    def _Name(self, node: ast.Name) -> Any:
        if node.id in ("True", "False", "None"):
            return {"True": True, "False": False, "None": None}[node.id]
        if node.id in self.names:
            self.used.add(node.id)
            return self.names[node.id]
        if node.id in self.base:
            self.used.add(node.id)
            return self.base[node.id]
        return Unsupported(f"name '{node.id}' is not defined in the config", self._where(node))

    def _Attribute(self, node: ast.Attribute) -> Any:
        path = _dotted(node)
        if path and path[0] == "_base_":
            return self._from_base(path[1:], node)
        inner = self.value(node.value)
        if isinstance(inner, dict) and node.attr in inner:
            return inner[node.attr]
        return Unsupported(f"'{_short(node)}' is not a config value", self._where(node))

    def _Subscript(self, node: ast.Subscript) -> Any:
        inner, index = self.value(node.value), self.value(node.slice)
        try:
            if isinstance(inner, (dict, list, tuple, str)) and not isinstance(index, Unsupported):
                if isinstance(index, slice) and isinstance(inner, dict):
                    raise TypeError
                return inner[index]
        except (KeyError, IndexError, TypeError):
            pass
        return Unsupported(f"'{_short(node)}' cannot be looked up", self._where(node))

    def _Slice(self, node: ast.Slice) -> Any:
        bounds = [None if part is None else self.value(part) for part in (node.lower, node.upper, node.step)]
        if all(b is None or (isinstance(b, int) and not isinstance(b, bool)) for b in bounds):
            return slice(*bounds)
        return Unsupported(f"slice '{_short(node)}' cannot be computed", self._where(node))

    def _Call(self, node: ast.Call) -> Any:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name == "dict" and len(node.args) <= 1:
            out: dict = {}
            if node.args:
                self._unpack(out, node.args[0])
            for kw in node.keywords:
                if kw.arg is None:
                    self._unpack(out, kw.value)
                else:
                    out[kw.arg] = self.value(kw.value)
            return out
        if name in ("list", "tuple") and len(node.args) <= 1 and not node.keywords:
            items = self.value(node.args[0]) if node.args else []
            if isinstance(items, (list, tuple, str)):
                return list(items) if name == "list" else tuple(items)
        return Unsupported(f"call '{_short(node)}' (functions are not run)", self._where(node))

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.value(node.left), self.value(node.right)
        op = _BINOPS.get(type(node.op))
        safe = (int, float, str, list, tuple)
        if op and isinstance(left, safe) and isinstance(right, safe) and not _too_big(node.op, left, right):
            try:
                return op(left, right)
            except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                pass
        return Unsupported(f"'{_short(node)}' cannot be computed without running code", self._where(node))

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        inner = self.value(node.operand)
        op = _UNARY.get(type(node.op))
        if op and isinstance(inner, (int, float, bool)):
            return op(inner)
        return Unsupported(f"'{_short(node)}' cannot be computed", self._where(node))

    def _JoinedStr(self, node: ast.JoinedStr) -> Any:
        parts = []
        for piece in node.values:
            if isinstance(piece, ast.Constant):
                parts.append(str(piece.value))
                continue
            inner = self.value(piece.value)  # a FormattedValue
            if isinstance(inner, Unsupported) or piece.conversion not in (-1, ord("s")) or piece.format_spec:
                return Unsupported(f"f-string '{_short(node)}' cannot be filled in", self._where(node))
            parts.append(str(inner))
        return "".join(parts)

    # ---- {{_base_.x}} ----

    def _base_refs(self, text: str, node: ast.AST) -> Any:
        match = _BASE_REF.fullmatch(text.strip())
        if match:
            return self._from_base(match.group(1).split("."), node)

        def fill(m: re.Match) -> str:
            value = self._from_base(m.group(1).split("."), node)
            return str(value)

        return _BASE_REF.sub(fill, text) if "{{" in text else text

    def _from_base(self, path: list[str], node: ast.AST) -> Any:
        value: Any = self.base
        for part in path:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif isinstance(value, (list, tuple)) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return Unsupported(f"'_base_.{'.'.join(path)}' is not defined in the bases", self._where(node))
        if path:
            self.used.add(path[0])
        return value


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _too_big(op: ast.operator, left: Any, right: Any) -> bool:
    if isinstance(op, ast.Pow):
        return not isinstance(right, (int, float)) or abs(right) > _MAX_POWER
    if isinstance(op, ast.Mult):  # 'a' * 10**9 or [0] * 10**9
        sizes = [len(v) for v in (left, right) if isinstance(v, (str, list, tuple))]
        counts = [v for v in (left, right) if isinstance(v, int)]
        return bool(sizes and counts) and sizes[0] * abs(counts[0]) > 1_000_000
    return False


def _short(node: ast.AST, limit: int = 60) -> str:
    text = ast.unparse(node).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 3] + "..."
