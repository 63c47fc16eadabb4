"""Facts about the course that more than one module needs: one home for each.

The repository and branch below are the only place the course's public
location is written. The authoring build copies them into every notebook's
Colab badge and setup cell, so changing them here and rebuilding is enough to
move the course.
"""

GITHUB_REPOSITORY = "anomaly-course/kmeans-gmm-anomaly-detection"
GITHUB_BRANCH = "main"

#: The notebooks, in teaching order. The same name is used in ``solutions/``
#: and ``notebooks/``, and it is the assignment name the grader uses.
NOTEBOOKS = (
    "01_spark_kmeans",
    "02_spark_gmm",
    "03_blobs_kmeans",
    "04_digits_kmeans",
    "05_digits_tsne",
    "06_which_detector",
)

#: How students should name the copy they save in Drive (the seed's rule).
COLAB_COPY_NAME = "LastName_FirstName_{notebook}.ipynb"


def colab_url(notebook):
    """Return the "Open in Colab" address of a student notebook."""
    return (
        f"https://colab.research.google.com/github/{GITHUB_REPOSITORY}"
        f"/blob/{GITHUB_BRANCH}/notebooks/{notebook}.ipynb"
    )


def pip_install_spec():
    """Return what ``pip install`` needs to install this package on Colab."""
    return f"course-helpers @ git+https://github.com/{GITHUB_REPOSITORY}@{GITHUB_BRANCH}"


def reproducible_environment():
    """Environment variables under which the solutions are executed and tested.

    OpenBLAS picks its kernels by CPU: AVX-512 machines and AVX2 machines round
    differently in the last bit, and t-SNE (notebook 05) amplifies that into a
    different map. Pinning the AVX2 ("Haswell") kernels, which every x86-64 CPU
    with AVX2 and FMA runs, makes the stored outputs reproducible on any such
    machine. Elsewhere (ARM, old CPUs) nothing is pinned.

    Returns
    -------
    dict of str to str
        Set these before the kernel starts: OpenBLAS reads them when it loads.
    """
    import platform

    if platform.machine().lower() not in ("x86_64", "amd64"):
        return {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            flags = next((line for line in handle if line.startswith("flags")), "").split()
    except OSError:
        return {}
    return {"OPENBLAS_CORETYPE": "Haswell"} if {"avx2", "fma"} <= set(flags) else {}
