"""The packs this engine ships, loaded on first use.

`settings_model(name)` imports only the pack's pure settings module (the platform settings use it
to validate `pack_settings` without importing any service); `get(name)` loads the whole pack."""

from __future__ import annotations

import importlib
from functools import cache

from pydantic import BaseModel

from entremise.packs.base import Pack

NAMES = ("consult", "expert")
_MODELS = {"consult": "ConsultSettings", "expert": "ExpertSettings"}


def settings_model(name: str) -> type[BaseModel]:
    if name not in _MODELS:
        raise KeyError(name)
    module = importlib.import_module(f"entremise.packs.{name}.settings")
    model: type[BaseModel] = getattr(module, _MODELS[name])
    return model


@cache
def get(name: str) -> Pack:
    if name not in NAMES:
        raise KeyError(name)
    module = importlib.import_module(f"entremise.packs.{name}.pack")
    pack: Pack = module.PACK
    for hook in pack.hooks:
        hook()
    return pack


def all_packs() -> list[Pack]:
    return [get(n) for n in NAMES]
