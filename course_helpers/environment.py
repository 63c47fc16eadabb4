"""The old home of the setup helpers, kept for callers written before the split.

Nothing new goes here. What it serves:

setup cells written before :mod:`course_helpers.setup` (copies students saved
in Drive) install the course with ``pip install --no-deps`` and then call
:func:`prepare_notebook` from here. It asks pip for the course's requirements
(pip keeps whatever already satisfies them), then does what today's setup cell
does.
"""

import importlib
import subprocess
import sys

from .setup import colab, in_colab

__all__ = ["prepare_notebook"]


def prepare_notebook():
    """Install the requirements an old ``--no-deps`` setup cell skipped, then check the session."""
    changed = []
    if in_colab():
        names = [colab.requirement_name(r) for r in colab.core_requirements()]
        before = {name: colab.installed_version(name) for name in names}
        if names:
            pip = [sys.executable, "-m", "pip", "install", "--quiet", *colab.core_requirements()]
            subprocess.run(pip, check=True)
            importlib.invalidate_caches()
        changed = [name for name in names if colab.installed_version(name) != before[name]]
    colab.prepare_notebook(just_installed=bool(changed))
