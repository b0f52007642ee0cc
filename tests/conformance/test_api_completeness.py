"""Every backend client class implements every kernel hook and every public op."""

from __future__ import annotations

import importlib
import inspect

import pytest

from boostr.config import BACKEND_KINDS
from boostr.runtime.client import ClientBase
from boostr.runtime.hooks import KernelHooks
from boostr.runtime.protocol import Client, client_op_names

HOOKS = sorted(n for n, v in vars(KernelHooks).items() if n.startswith("_k_") and callable(v))


def _client_classes(kind: str) -> list[type]:
    found: list[type] = []
    for modname in (f"boostr.runtime.{kind}.client", f"boostr.runtime.{kind}"):
        try:
            mod = importlib.import_module(modname)
        except ImportError:
            continue
        for obj in vars(mod).values():
            if inspect.isclass(obj) and issubclass(obj, ClientBase) and obj is not ClientBase and obj not in found:
                found.append(obj)
    return found


@pytest.mark.parametrize("kind", BACKEND_KINDS)
def test_client_implements_every_hook_and_op(kind):
    classes = _client_classes(kind)
    if not classes:
        pytest.skip(f"boostr.runtime.{kind} does not import here or defines no client class yet")
    for cls in classes:
        assert cls.kind == kind, f"{cls.__name__}.kind is {cls.kind!r}, expected {kind!r}"
        missing_hooks = [h for h in HOOKS if not callable(getattr(cls, h, None))]
        assert not missing_hooks, f"{cls.__name__} lacks kernel hooks {missing_hooks}"
        for h in HOOKS:
            want = list(inspect.signature(getattr(KernelHooks, h)).parameters)
            got = list(inspect.signature(getattr(cls, h)).parameters)
            assert got[: len(want)] == want, f"{cls.__name__}.{h}{got} does not match the hook signature {want}"
        missing_ops = [op for op in client_op_names() if not callable(getattr(cls, op, None))]
        assert not missing_ops, f"{cls.__name__} lacks public ops {missing_ops}"
        assert cls.storage_dtypes and cls.compute_dtypes <= cls.storage_dtypes, f"{cls.__name__} dtype sets"
        assert cls.default_int in cls.storage_dtypes and cls.default_int in cls.index_dtypes


def test_live_clients_satisfy_protocol(client):
    assert isinstance(client, Client)
    assert client.kind in BACKEND_KINDS
    assert client.device_name.startswith(client.kind)
    info = client.info()
    assert isinstance(info, dict) and info


def test_hooks_are_not_protocol_stubs(client):
    """A backend must override every hook: the protocol's ``...`` bodies would silently return None."""
    for h in HOOKS:
        impl = getattr(type(client), h)
        assert impl is not getattr(KernelHooks, h), f"{type(client).__name__}.{h} is the protocol stub"
