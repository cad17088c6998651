//! The clusterers against scikit-learn reference cases (`tests/data/sklearn_cluster_cases.json`, made by the
//! script next to it): exact for the deterministic algorithms, agreement of partitions for the k-means-based
//! ones (their random streams differ from NumPy's).

use ccc_analyze::cluster::{
    bistochastic_normalize, kmeans, log_normalize, scale_normalize, spectral_bicluster, spectral_cocluster, ward,
    BiNormalization, BiclusterParams, KMeansParams,
};
use faer::Mat;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn cases() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sklearn_cluster_cases.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("read the cases")).expect("parse the cases")
}

fn matrix(v: &Value) -> Mat<f64> {
    let rows: Vec<Vec<f64>> = v
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r.as_array().expect("row").iter().map(|x| x.as_f64().expect("number")).collect())
        .collect();
    Mat::from_fn(rows.len(), rows[0].len(), |i, j| rows[i][j])
}

fn labels(v: &Value) -> Vec<usize> {
    v.as_array().expect("labels").iter().map(|x| x.as_u64().expect("label") as usize).collect()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().expect("floats").iter().map(|x| x.as_f64().expect("number")).collect()
}

/// The matrix of a case: `data`, or `F Fᵀ` for a `factor`.
fn case_matrix(case: &Value) -> Mat<f64> {
    match case.get("factor") {
        Some(f) => {
            let f = matrix(f);
            &f * f.transpose()
        }
        None => matrix(&case["data"]),
    }
}

/// Fraction of items on which two labelings agree under the best one-to-one matching of their labels.
fn agreement(a: &[usize], b: &[usize]) -> f64 {
    let ka = a.iter().max().map_or(0, |m| m + 1);
    let kb = b.iter().max().map_or(0, |m| m + 1);
    let k = ka.max(kb);
    let mut table = vec![vec![0usize; k]; k];
    for (&x, &y) in a.iter().zip(b) {
        table[x][y] += 1;
    }
    fn best(table: &[Vec<usize>], row: usize, used: &mut Vec<bool>) -> usize {
        if row == table.len() {
            return 0;
        }
        let mut top = 0;
        for col in 0..table.len() {
            if !used[col] {
                used[col] = true;
                top = top.max(table[row][col] + best(table, row + 1, used));
                used[col] = false;
            }
        }
        top
    }
    best(&table, 0, &mut vec![false; k]) as f64 / a.len() as f64
}

fn assert_close(got: &Mat<f64>, want: &Mat<f64>, tol: f64, what: &str) {
    assert_eq!((got.nrows(), got.ncols()), (want.nrows(), want.ncols()), "{what}: shape");
    for i in 0..got.nrows() {
        for j in 0..got.ncols() {
            let (g, w) = (got[(i, j)], want[(i, j)]);
            assert!((g - w).abs() <= tol * w.abs().max(1.0), "{what}[{i},{j}]: {g} vs {w}");
        }
    }
}

#[test]
fn ward_equals_sklearn_labels_exactly() {
    for case in cases()["ward"].as_array().expect("ward cases") {
        let x = matrix(&case["data"]);
        let k = case["n_clusters"].as_u64().expect("k") as usize;
        assert_eq!(ward(x.as_ref(), k).expect("ward"), labels(&case["labels"]), "{}×{} k={k}", x.nrows(), x.ncols());
    }
}

#[test]
fn normalizations_equal_sklearn() {
    for case in cases()["normalize"].as_array().expect("normalize cases") {
        let x = matrix(&case["data"]);
        let s = scale_normalize(x.as_ref());
        assert_close(&s.an, &matrix(&case["scale"]), 1e-13, "scale");
        for (got, want) in s.row_diag.iter().zip(floats(&case["row_diag"])) {
            assert!((got - want).abs() <= 1e-13 * want.abs().max(1.0));
        }
        for (got, want) in s.col_diag.iter().zip(floats(&case["col_diag"])) {
            assert!((got - want).abs() <= 1e-13 * want.abs().max(1.0));
        }
        assert_close(
            &bistochastic_normalize(x.as_ref(), 1000, 1e-5),
            &matrix(&case["bistochastic"]),
            1e-12,
            "bistochastic",
        );
        assert_close(&log_normalize(x.as_ref()), &matrix(&case["log"]), 1e-12, "log");
    }
}

#[test]
fn spectral_bicluster_agrees_with_sklearn() {
    for (c, case) in cases()["spectral_bicluster"].as_array().expect("cases").iter().enumerate() {
        let x = case_matrix(case);
        let method = match case["method"].as_str().expect("method") {
            "log" => BiNormalization::Log,
            "bistochastic" => BiNormalization::Bistochastic,
            _ => BiNormalization::Scale,
        };
        let n_init = if case.get("factor").is_some() { 100 } else { 10 };
        let params = BiclusterParams::new(3, 3).method(method).n_init(n_init);
        let bi = spectral_bicluster(x.as_ref(), &params, &mut ChaCha8Rng::seed_from_u64(c as u64)).expect("fit");
        let rows = agreement(&bi.row_labels, &labels(&case["row_labels"]));
        let cols = agreement(&bi.col_labels, &labels(&case["col_labels"]));
        assert!(rows >= 0.95 && cols >= 0.95, "case {c} ({method:?}): rows {rows}, cols {cols}");
        // As close to the planted rows as scikit-learn gets.
        let truth = labels(&case["truth_rows"]);
        let (ours, theirs) = (agreement(&bi.row_labels, &truth), agreement(&labels(&case["row_labels"]), &truth));
        assert!(ours >= theirs - 0.05, "case {c}: rows vs truth {ours}, sklearn {theirs}");
    }
}

#[test]
fn spectral_cocluster_agrees_with_sklearn() {
    for (c, case) in cases()["spectral_cocluster"].as_array().expect("cases").iter().enumerate() {
        let x = case_matrix(case);
        let bi = spectral_cocluster(x.as_ref(), 3, 10, &mut ChaCha8Rng::seed_from_u64(c as u64)).expect("fit");
        let rows = agreement(&bi.row_labels, &labels(&case["row_labels"]));
        let cols = agreement(&bi.col_labels, &labels(&case["col_labels"]));
        assert!(rows >= 0.95 && cols >= 0.95, "case {c}: rows {rows}, cols {cols}");
    }
}

#[test]
fn kmeans_agrees_with_sklearn() {
    for (c, case) in cases()["kmeans"].as_array().expect("cases").iter().enumerate() {
        let x = matrix(&case["data"]);
        let k = case["n_clusters"].as_u64().expect("k") as usize;
        let fit = kmeans(x.as_ref(), &KMeansParams::new(k), &mut ChaCha8Rng::seed_from_u64(c as u64)).expect("fit");
        let agree = agreement(&fit.labels, &labels(&case["labels"]));
        let want = case["inertia"].as_f64().expect("inertia");
        assert!(agree >= 0.95, "case {c}: agreement {agree}");
        // Restarts may end in a slightly different local optimum than scikit-learn's.
        assert!(fit.inertia <= want * 1.01, "case {c}: inertia {} vs sklearn {want}", fit.inertia);
    }
}
