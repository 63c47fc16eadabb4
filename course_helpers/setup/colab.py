"""The setup cell's second half: check the session, then print one line about it.

The setup cell (written by :mod:`course_helpers.authoring`) installs the course
on Colab with a plain ``pip install``: the course's requirements are only what
the notebooks import, Colab has all of them but openTSNE, and pip keeps every
installed version that satisfies a requirement. So the install adds openTSNE
and changes nothing Colab loaded. The one case left is a requirement Colab does
not satisfy (an old image's pandas, a future pandas 3) whose module this
session has already imported: the new files would sit under the old module.
:func:`prepare_notebook`, told by the setup cell that it has just installed,
finds that and asks for a restart.

Standard library only at import (see :mod:`course_helpers.setup`).
"""

import importlib.metadata
import re
import sys

from . import in_colab, installed_version
from .java import MIN_JAVA, java_major_version

_DISTRIBUTION = "course-helpers"

#: Distribution name -> module name, where they differ.
_MODULE_OF = {"scikit-learn": "sklearn", "opentsne": "openTSNE"}


class RestartRequired(RuntimeError):
    """Packages changed under modules this session has already imported."""

    def _render_traceback_(self):
        # IPython shows this instead of a traceback: the message is the whole story.
        return [f"\x1b[31m{self}\x1b[0m"]


def core_requirements(*, distribution=_DISTRIBUTION):
    """Return ``distribution``'s requirements that no extra guards, as pip reads them.

    Returns
    -------
    requirements : list of str
        E.g. ``"pandas<3,>=2.2"``; empty when the package is not installed as a
        distribution.
    """
    try:
        texts = importlib.metadata.requires(distribution) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    # "jupyterlab>=4.2; extra == 'lab'" belongs to an extra: not installed by a plain install.
    return [text for text in texts if "extra ==" not in text]


def requirement_name(requirement):
    """Return the distribution name a requirement starts with (``"pandas"`` for ``"pandas<3"``)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    if match is None:
        raise ValueError(f"not a requirement: {requirement!r}")
    return match.group()


def stale_imports(requirements):
    """Return the distributions whose already imported module differs from the installed one.

    Parameters
    ----------
    requirements : iterable of str
        Requirements or plain distribution names, e.g. from :func:`core_requirements`.
    """
    stale = []
    for requirement in requirements:
        distribution = requirement_name(requirement)
        module_name = _MODULE_OF.get(distribution.lower(), distribution.replace("-", "_"))
        imported = getattr(sys.modules.get(module_name), "__version__", None)
        if isinstance(imported, str) and imported != installed_version(distribution):
            stale.append(distribution)
    return stale


def prepare_notebook(*, just_installed=False):
    """Check the session and print one line about it (the setup cell calls this).

    Outside Colab it changes nothing and only prints versions. On Colab it adds
    a line on Java, pyspark and the bundled data; Java itself is installed
    later, by the notebooks that start Spark
    (:func:`course_helpers.setup.java.require_java`).

    Parameters
    ----------
    just_installed : bool, default=False
        True when the setup cell has just installed the course in this
        session. Then a requirement whose imported module is not the installed
        version raises :class:`RestartRequired`. Only then: a module whose
        ``__version__`` is spelled unlike its metadata would otherwise ask for a
        restart after every restart.
    """
    if not isinstance(just_installed, bool):
        raise TypeError(f"just_installed must be True or False, got {just_installed!r}")
    if just_installed:
        stale = stale_imports(core_requirements())
        if stale:
            raise RestartRequired(
                f"{', '.join(stale)} changed while already imported: use Runtime > "
                "Restart session, then run the notebook again from the top."
            )
    import sklearn

    from .. import __version__

    where = "Colab" if in_colab() else "local"
    print(
        f"course_helpers {__version__} | Python {sys.version.split()[0]} | "
        f"scikit-learn {sklearn.__version__} | {where}"
    )
    if in_colab():
        print(" | ".join([_java_text(), f"pyspark {installed_version('pyspark')}", _data_text()]))


def _java_text():
    java = java_major_version()
    if java is not None and java >= MIN_JAVA:
        return f"Java {java}"
    return f"Java {java or 'missing'} (the Spark notebooks install Java {MIN_JAVA} when they start)"


def _data_text():
    # Imported here: market_data needs pandas, which the setup cell may just have installed.
    from ..market_data import bundled_data_path

    try:
        bundled_data_path()
    except FileNotFoundError:
        return "bundled data NOT found"
    return "bundled data found"
