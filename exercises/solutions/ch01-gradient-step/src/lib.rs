//! Solution of the chapter 1 exercise.

pub fn gradient_step(w: f32, b: f32, xs: &[f32], ys: &[f32], lr: f32) -> (f32, f32, f32) {
    let n = xs.len() as f32;
    let (mut loss, mut dw, mut db) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in xs.iter().zip(ys) {
        let e = w * x + b - y;
        loss += e * e;
        dw += 2.0 * e * x;
        db += 2.0 * e;
    }
    (w - lr * dw / n, b - lr * db / n, loss / n)
}
