"""Module attributes that import their module on first use (so importing a package stays cheap)."""

from __future__ import annotations

from importlib import import_module


def lazy_attributes(package: str, names: dict[str, str]):
    """``(__getattr__, __dir__)`` for a package whose ``names`` map attribute -> module to import it from."""
    namespace = import_module(package).__dict__

    def __getattr__(name: str):
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value  # later lookups skip this function
        return value

    def __dir__():
        return sorted(namespace.get("__all__", names))

    return __getattr__, __dir__
