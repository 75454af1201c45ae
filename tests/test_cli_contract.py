"""The command-line contract: every `pcnstudy` command, its options, their defaults and
help, exactly as recorded in tests/results/cli_contract.json (written from the command
line before the package was split into stage subpackages). A change here is a change
of contract: update the record only on purpose."""
from __future__ import annotations

import json
import re

import typer

from conftest import ROOT
from pcnstudy import cli

RECORD = ROOT / "tests" / "results" / "cli_contract.json"


def contract() -> dict:
    """Each command's help and parameters (names, flags, kind, required, multiple, default, help)."""
    group = typer.main.get_command(cli.app)
    out = {}
    for name, command in sorted(group.commands.items()):
        params = []
        for p in command.params:
            default = "<callable>" if callable(p.default) else p.default
            default = None if default is None else str(default).replace(str(ROOT.resolve()), "<root>")
            params.append({"name": p.name, "opts": list(p.opts) + list(p.secondary_opts), "kind": p.param_type_name,
                           "required": p.required, "multiple": p.multiple, "default": default,
                           "help": getattr(p, "help", None)})
        out[name] = {"help": command.help, "params": params}
    return out


def test_every_command_and_option_is_as_recorded():
    recorded = json.loads(RECORD.read_text(encoding="utf-8"))
    now = contract()
    assert sorted(now) == sorted(recorded)
    for name in recorded:
        assert now[name] == recorded[name], name


def test_readme_lists_every_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| `pcnstudy ([a-z-]+)", readme, re.M))
    assert listed == set(contract())
