//! Solution of the chapter 17.2 exercise.

fn log_softmax(z: &[f32], t: f32) -> Vec<f32> {
    let m = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max) / t;
    let lse = m + z.iter().map(|v| (v / t - m).exp()).sum::<f32>().ln();
    z.iter().map(|v| v / t - lse).collect()
}

pub fn kd_loss(
    student: &[f32],
    teacher: &[f32],
    target: usize,
    temperature: f32,
    alpha: f32,
) -> f32 {
    let (ls, lt) = (
        log_softmax(student, temperature),
        log_softmax(teacher, temperature),
    );
    let kl: f32 = lt.iter().zip(&ls).map(|(p, q)| p.exp() * (p - q)).sum();
    let hard = -log_softmax(student, 1.0)[target];
    alpha * temperature * temperature * kl + (1.0 - alpha) * hard
}
