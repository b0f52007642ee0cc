"""Module: the base of every layer. Parameters are boostr Tensors or QuantTensors.

A module registers what is assigned to it: a Tensor or QuantTensor attribute is a
parameter, a Module attribute a child (names starting with ``_`` are never registered:
derived tensors and caches) (``ModuleList`` holds numbered children). Names
follow PyTorch: ``layers.0.self_attn.q_proj.weight``. A parameter set to ``None`` is an
absent optional parameter (a bias). Modules hold no gradient state: boostr's nn is for
inference; training composes the backward ops directly.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..errors import InvalidArgument
from ..quant.quant_tensor import QuantTensor
from ..tensor import Tensor

Param = Tensor | QuantTensor


def param_nbytes(p: Param) -> int:
    """Device bytes of a parameter (block bytes for a QuantTensor)."""
    return p.nbytes


class Module:
    """Base class: ``named_parameters``, ``named_modules``, ``state_dict`` / ``load_state_dict``."""

    _params: dict[str, Param | None]
    _modules: dict[str, Module]

    def __init__(self) -> None:
        object.__setattr__(self, "_params", {})
        object.__setattr__(self, "_modules", {})

    def __setattr__(self, name: str, value: Any) -> None:
        params: dict[str, Param | None] = self.__dict__.get("_params")  # type: ignore[assignment]
        if params is None:
            raise RuntimeError(f"{type(self).__name__}.__init__ must call super().__init__() before setting {name!r}")
        modules: dict[str, Module] = self.__dict__["_modules"]
        if name.startswith("_"):  # private attributes (caches, derived tensors) are never registered
            object.__setattr__(self, name, value)
            return
        if isinstance(value, (Tensor, QuantTensor)) or (value is None and name in params):
            params[name] = value
            modules.pop(name, None)
        elif isinstance(value, Module):
            modules[name] = value
            params.pop(name, None)
        object.__setattr__(self, name, value)

    # ------------------------------------------------------------- traversal
    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module (name ``prefix``) and every descendant, depth first."""
        yield prefix, self
        for name, child in self._modules.items():
            yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Param]]:
        """Every present parameter with its dotted name (shared ones once, under their first name)."""
        seen: set[int] = set()
        for mname, mod in self.named_modules(prefix):
            for pname, p in mod._params.items():
                if p is not None and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{pname}" if mname else pname), p

    def parameters(self) -> Iterator[Param]:
        for _, p in self.named_parameters():
            yield p

    def children(self) -> Iterable[Module]:
        return self._modules.values()

    def nbytes(self) -> int:
        """Device bytes of all parameters (each shared parameter counted once)."""
        return sum(param_nbytes(p) for p in self.parameters())

    # ------------------------------------------------------------ state dict
    def state_dict(self) -> dict[str, Param]:
        """``{dotted name: Tensor | QuantTensor}`` of every present parameter (device tensors, no copy)."""
        return dict(self.named_parameters())

    def load_state_dict(self, state: dict[str, Param], strict: bool = True) -> list[str]:
        """Assign parameters by name; shapes must match (a QuantTensor may replace a float one).

        Tensors on another device are moved to the current parameter's device. With ``strict``,
        missing or unexpected names raise InvalidArgument; otherwise the missing names are returned.
        """
        slots = self._slots()
        unexpected = sorted(set(state) - set(slots))
        missing = sorted(n for n, (mod, attr) in slots.items() if n not in state and mod._params[attr] is not None)
        if strict and (unexpected or missing):
            raise InvalidArgument("state", f"missing keys {missing[:8]}, unexpected keys {unexpected[:8]}")
        for name, value in state.items():
            if name not in slots:
                continue
            mod, attr = slots[name]
            cur = mod._params[attr]
            if not isinstance(value, (Tensor, QuantTensor)):
                raise InvalidArgument("state", f"{name}: expected a Tensor or QuantTensor, received {type(value)}")
            if cur is not None:
                if tuple(value.shape) != tuple(cur.shape):
                    raise InvalidArgument("state", f"{name}: expected shape {cur.shape}, received {value.shape}")
                if value.client is not cur.client:
                    value = value.to(cur.client.device_name) if isinstance(value, QuantTensor) else value.to(cur.device)
            setattr(mod, attr, value)
        return missing

    def _slots(self) -> dict[str, tuple[Module, str]]:
        out: dict[str, tuple[Module, str]] = {}
        for mname, mod in self.named_modules():
            for pname in mod._params:
                out[f"{mname}.{pname}" if mname else pname] = (mod, pname)
        return out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self._modules.items():
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + (")" if len(lines) == 1 else "\n)")

    def extra_repr(self) -> str:
        return ""


class ModuleList(Module):
    """An indexable list of modules named ``0``, ``1``, ..."""

    def __init__(self, modules: Iterable[Module] = ()) -> None:
        super().__init__()
        self._items: list[Module] = []
        for m in modules:
            self.append(m)

    def append(self, module: Module) -> None:
        if not isinstance(module, Module):
            raise InvalidArgument("module", f"expected a Module, received {type(module).__name__}")
        self._modules[str(len(self._items))] = module
        self._items.append(module)

    def __getitem__(self, i: int) -> Any:
        return self._items[i]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)


__all__ = ["Module", "ModuleList", "Param", "param_nbytes"]
