"""Allow ``python -m pcnstudy``."""
from pcnstudy.cli import app

app(prog_name="pcnstudy")
