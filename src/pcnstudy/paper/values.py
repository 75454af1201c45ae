"""How the paper and the cohort report write a value: by its statistic's name.

Takes results values (numbers, suppression markers such as '<5', None) with their
dotted keys, and params.yaml values, and gives the strings ``_variables.yml`` and the
tables hold, by the naming conventions of docs/architecture.md: ``n*``/``k*`` counts,
``pct*``/``prop*`` (and I²) percentages, ``p_*`` p-values, anything else two
decimals (``format_value``). Also ``flatten``/``nest`` between results trees and
dotted keys, and ``prose_percent`` for percentages in running text.
"""
from __future__ import annotations

import math
import re
from typing import Any, Mapping

COUNT_RE = re.compile(r"^[nk](_|$|[0-9])")
PCT_RE = re.compile(r"^(pct|prop)")
P_RE = re.compile(r"^p(_|$)")


def stat_name(key: str) -> str:
    """Return the statistic name of a dotted key: its last part that is not a list index."""
    parts = [p for p in key.split(".") if not p.isdigit()]
    return parts[-1] if parts else key


def format_number(value: float, decimals: int) -> str:
    """Format a float with a fixed number of decimals, never showing '-0.0'."""
    text = f"{value:.{decimals}f}"
    if re.fullmatch(r"-0\.?0*", text):
        text = text[1:]
    return text


def format_value(key: str, value: Any) -> str:
    """Format one results value for the paper by its statistic's name.

    ``n*``/``k*`` counts as integers; ``pct*``/``prop*`` (and I², ``i2``) fractions as percentages with
    one decimal (0.243 -> '24.3'); ``p_*`` p-values with three decimals or '<0.001';
    anything else with two decimals. Strings (a suppressed value such as '<5') are
    kept as they are; missing or non-finite numbers become 'NA'.
    """
    if value is None:
        return "NA"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if not isinstance(value, (int, float)):
        raise TypeError(f"{key}: not a number or string: {value!r}")
    value = float(value)
    if not math.isfinite(value):
        return "NA"
    name = stat_name(key)
    if COUNT_RE.match(name):
        return f"{value:.0f}" if value == round(value) else format_number(value, 1)
    if PCT_RE.match(name) or name == "i2":  # I² is stored as a fraction, read as a percentage
        return format_number(100 * value, 1)
    if P_RE.match(name):
        return "<0.001" if value < 0.001 else format_number(value, 3)
    return format_number(value, 2)


def format_param(value: Any) -> str:
    """Format a params.yaml value as written (lists joined with ', ')."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_param(v) for v in value)
    if isinstance(value, float) and value == round(value):
        return str(int(value)) if abs(value) >= 1 else str(value)
    return str(value)


def conf_pct(alpha: float) -> str:
    """The confidence level of ``alpha`` as the prose writes it (0.05 -> '95')."""
    return format_param(round(100 * (1 - alpha), 6))


def prose_percent(key: str, value: Any) -> str:
    """A percentage for running text: '24.3%', or 'suppressed' where disclosure control hid it.

    Prose cannot write ``{{< var x.pct >}}%``: a suppressed value ('<5') would read as
    'less than five per cent'. Each ``pct*``/``prop*`` estimate therefore also gets a
    ``<key>_text`` variable made from this.
    """
    if isinstance(value, str) or value is None:
        return "suppressed"
    return format_value(key, value) + "%"


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts (and lists, by index) into {dotted.key: leaf}."""
    out: dict[str, Any] = {}
    if isinstance(tree, Mapping):
        for key, item in tree.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(tree, (list, tuple)):
        for i, item in enumerate(tree):
            out.update(flatten(item, f"{prefix}.{i}" if prefix else str(i)))
    else:
        out[prefix] = tree
    return out


def nest(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of ``flatten`` for dict-only trees: {'a.b': 1} -> {'a': {'b': 1}}."""
    tree: dict[str, Any] = {}
    for key in sorted(flat):
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ValueError(f"variable {key!r} clashes with a value at {part!r}")
        node[parts[-1]] = flat[key]
    return tree
