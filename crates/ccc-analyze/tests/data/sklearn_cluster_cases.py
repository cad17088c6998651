"""Generate scikit-learn reference cases for the clusterers of `ccc_analyze::cluster`.

Fold-like cases store the factor `F` (the matrix clustered is `F Fᵀ`) to keep the file small.

Run by hand (not at test time):  python sklearn_cluster_cases.py > sklearn_cluster_cases.json
Requires numpy and scikit-learn; the versions used are recorded in the output.

Deterministic algorithms (Ward, the normalizations) are compared exactly (labels incl. numbering, values to
~1e-12); k-means-based ones (spectral co-/biclustering, k-means) by agreement of partitions, since our random
stream (ChaCha8) differs from NumPy's.
"""

import json
import sys

import numpy as np
import sklearn
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralBiclustering, SpectralCoclustering
from sklearn.cluster._bicluster import _bistochastic_normalize, _log_normalize, _scale_normalize

rng = np.random.RandomState(20251125)


def mat(a):
    return [[float(v) for v in row] for row in a]


def r(a):
    """Inputs are rounded to 4 decimals before fitting, so the JSON is short and exact."""
    return np.round(a, 4)


cases = {"sklearn_version": sklearn.__version__, "numpy_version": np.__version__}

# Ward: random data of several shapes, including a nonnegative symmetric fold-like matrix.
ward = []
for n, d, k in [(12, 3, 3), (40, 5, 3), (60, 20, 4), (50, 2, 6), (80, 80, 3)]:
    x = rng.standard_normal((n, d)) * rng.uniform(0.5, 3.0, size=d)
    if n == d:
        f = np.abs(rng.standard_normal((n, 30)))
        f[::9] *= 4.0
        x = f @ f.T
    x = r(x)
    labels = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(x).labels_
    ward.append({"data": mat(x), "n_clusters": k, "labels": [int(v) for v in labels]})
cases["ward"] = ward

# Normalizations.
norms = []
for nr, nc, shift in [(5, 4, 0.0), (7, 7, -0.5), (3, 6, 2.0)]:
    x = r(rng.uniform(0, 3, size=(nr, nc)) + shift)
    x[0, 0] = 0.0 if shift == 0.0 else x[0, 0]
    an, rd, cd = _scale_normalize(x)
    norms.append(
        {
            "data": mat(x),
            "scale": mat(an),
            "row_diag": [float(v) for v in rd],
            "col_diag": [float(v) for v in cd],
            "bistochastic": mat(_bistochastic_normalize(x)),
            "log": mat(_log_normalize(x)),
        }
    )
cases["normalize"] = norms


def planted_checkerboard(row_sizes, col_sizes, noise):
    levels = rng.uniform(1.0, 10.0, size=(len(row_sizes), len(col_sizes)))
    rows = np.repeat(np.arange(len(row_sizes)), row_sizes)
    cols = np.repeat(np.arange(len(col_sizes)), col_sizes)
    x = levels[rows][:, cols] * (1.0 + noise * rng.uniform(-1, 1, size=(len(rows), len(cols))))
    return r(x), rows, cols


def planted_fold(sizes, noise):
    groups = np.repeat(np.arange(len(sizes)), sizes)
    f = np.abs(rng.standard_normal((len(groups), 40))) * 0.3
    for g in range(len(sizes)):
        f[groups == g, g * 10 : g * 10 + 10] += 1.0 + 2.0 * g
    f *= 1.0 + noise * rng.uniform(-1, 1, size=f.shape)
    return r(f), groups


bic = []
for method in ["log", "bistochastic", "scale"]:
    x, rows, cols = planted_checkerboard([15, 25, 40], [12, 18, 30], 0.1)
    m = SpectralBiclustering(n_clusters=(3, 3), method=method, random_state=0).fit(x)
    bic.append(
        {
            "data": mat(x),
            "method": method,
            "n_clusters": [3, 3],
            "truth_rows": [int(v) for v in rows],
            "truth_cols": [int(v) for v in cols],
            "row_labels": [int(v) for v in m.row_labels_],
            "col_labels": [int(v) for v in m.column_labels_],
        }
    )
for method in ["log", "bistochastic"]:
    f, groups = planted_fold([20, 50, 130], 0.2)
    m = SpectralBiclustering(n_clusters=(3, 3), method=method, n_init=100, random_state=0).fit(f @ f.T)
    bic.append(
        {
            "factor": mat(f),
            "method": method,
            "n_clusters": [3, 3],
            "truth_rows": [int(v) for v in groups],
            "truth_cols": [int(v) for v in groups],
            "row_labels": [int(v) for v in m.row_labels_],
            "col_labels": [int(v) for v in m.column_labels_],
        }
    )
cases["spectral_bicluster"] = bic

coc = []
for sizes in [[10, 20, 30], [20, 50, 130]]:
    f, groups = planted_fold(sizes, 0.2)
    m = SpectralCoclustering(n_clusters=3, random_state=0).fit(f @ f.T)
    coc.append(
        {
            "factor": mat(f),
            "n_clusters": 3,
            "truth": [int(v) for v in groups],
            "row_labels": [int(v) for v in m.row_labels_],
            "col_labels": [int(v) for v in m.column_labels_],
        }
    )
cases["spectral_cocluster"] = coc

km = []
for n, d, k in [(90, 2, 3), (120, 1, 3), (100, 3, 4)]:
    centers = rng.uniform(-10, 10, size=(k, d))
    truth = rng.randint(0, k, size=n)
    x = r(centers[truth] + rng.standard_normal((n, d)))
    m = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x)
    km.append(
        {"data": mat(x), "n_clusters": k, "labels": [int(v) for v in m.labels_], "inertia": float(m.inertia_)}
    )
cases["kmeans"] = km

json.dump(cases, sys.stdout, separators=(",", ":"))
