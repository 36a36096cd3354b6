"""The public API: every name in ``twsapp.__all__`` resolves, lazily, to what it names."""

from __future__ import annotations

import subprocess
import sys

import twsapp


def test_every_exported_name_resolves_and_is_listed_once():
    assert len(twsapp.__all__) == len(set(twsapp.__all__))
    assert sorted(twsapp.__all__) == sorted(twsapp._EXPORTS)
    for name in twsapp.__all__:
        value = getattr(twsapp, name)
        assert getattr(value, "__name__", name) == name or name.isupper(), name


def test_every_exception_derives_from_one_base():
    exported = [getattr(twsapp, n) for n in twsapp.__all__]
    errors = [e for e in exported if isinstance(e, type) and issubclass(e, BaseException)]
    assert len(errors) >= 10
    assert all(issubclass(e, twsapp.TwsAppError) for e in errors), errors
    assert issubclass(twsapp.OrderValidationError, twsapp.OrderRefused)


def test_star_import_gives_the_api_and_an_unknown_name_is_an_attribute_error():
    namespace: dict = {}
    exec("from twsapp import *", namespace)
    assert {"TwsApp", "Strategy", "limit_order", "Status", "Notice"} <= set(namespace)
    try:
        twsapp.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("an unknown name resolved")


def test_importing_twsapp_loads_nothing_until_a_name_is_used():
    code = "import sys, twsapp; print(sorted(m for m in sys.modules if m.startswith('twsapp')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['twsapp']"
