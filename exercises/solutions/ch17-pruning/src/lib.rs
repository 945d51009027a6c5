//! Chapter 17.3 exercise, solved: the three masks of pruning on plain slices.

pub fn magnitude_mask(w: &[f32], sparsity: f64) -> Vec<bool> {
    let count = (w.len() as f64 * sparsity).floor() as usize;
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()));
    let mut keep = vec![true; w.len()];
    for &i in &order[..count] {
        keep[i] = false;
    }
    keep
}

pub fn wanda_row_scores(row: &[f32], x: &[f32]) -> Vec<f32> {
    let d_in = row.len();
    (0..d_in)
        .map(|j| {
            let norm = x
                .iter()
                .skip(j)
                .step_by(d_in)
                .map(|v| v * v)
                .sum::<f32>()
                .sqrt();
            row[j].abs() * norm
        })
        .collect()
}

pub fn mask_2_4(row: &[f32]) -> Vec<bool> {
    let mut keep = Vec::with_capacity(row.len());
    for group in row.chunks(4) {
        let mut order = [0, 1, 2, 3];
        order.sort_by(|&a, &b| group[a].abs().total_cmp(&group[b].abs()));
        let mut g = [true; 4];
        g[order[0]] = false;
        g[order[1]] = false;
        keep.extend(g);
    }
    keep
}
