#!/usr/bin/env python3
"""Golden training math from JAX and optax, for crates/train (AdamW, the LR
schedule, global-norm clipping, the masked cross-entropy), crates/distill
(the KD loss) and crates/model's LoRA projection (used by crates/lora).

    python3 -m pip install jax optax   # the CPU wheels
    python3 scripts/golden_train_math.py

Writes tests/golden/train_math/optax.json. Every input is drawn from a
seeded numpy generator as float32 (so JSON holds it exactly, and our f32 code
reads the same numbers); every reference is computed by JAX in float64
(`jax_enable_x64`), so the golden carries no f32 rounding of its own and the
tolerance measures our f32 arithmetic only.

- `schedule`: `optax.warmup_cosine_decay_schedule(init_value=0, peak, warmup,
  decay_steps=total, end_value=peak*min_ratio)` at counts 0..total+3.
- `adamw`: 20 steps of `optax.chain(optax.clip_by_global_norm(max_norm),
  optax.adamw(lr_schedule, b1, b2, eps, weight_decay))` on two parameter
  tensors, with given gradients (some steps above the clipping norm, some
  below): per step the learning rate, `optax.global_norm` of the raw
  gradients, and the parameters after the step.
- `masked_ce`: `optax.losses.softmax_cross_entropy_with_integer_labels` summed
  over the positions whose mask is 1, and `jax.grad` of it by the logits.
- `kd`: `T² · optax.losses.kl_divergence(log_softmax(s/T), softmax(t/T))`
  (forward, KL(teacher || student)) or `T² · kl_divergence_with_log_targets(
  log_softmax(t/T), log_softmax(s/T))` (reverse, KL(student || teacher)),
  summed over positions, mixed `alpha · soft + (1 − alpha) · CE`; value and
  `jax.grad` by the student's logits.
- `lora`: `y = x·W + scale · (x·A)·B` and, for L = Σ y ⊙ G, `jax.grad` by A
  and by B.
"""

import json
import pathlib
import platform

import jax

jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/golden/train_math/optax.json"
RNG = np.random.default_rng(20260322)


def f32(shape, scale=1.0):
    return (RNG.standard_normal(shape) * scale).astype(np.float32)


def as_list(a):
    return np.asarray(a, dtype=np.float64).reshape(-1).tolist()


def schedule_case():
    peak, warmup, total, min_ratio = 3e-3, 5, 20, 0.1
    # f32 hyper-parameters, as our LrSchedule holds them
    peak32, ratio32 = float(np.float32(peak)), float(np.float32(min_ratio))
    sched = optax.warmup_cosine_decay_schedule(
        init_value=0.0, peak_value=peak32, warmup_steps=warmup, decay_steps=total, end_value=peak32 * ratio32
    )
    return sched, {
        "peak": peak32,
        "warmup": warmup,
        "total": total,
        "min_ratio": ratio32,
        "optax_lr_by_count": [float(sched(c)) for c in range(total + 4)],
    }


def adamw_case(sched):
    b1, b2, eps, wd, max_norm = 0.9, 0.95, 1e-8, 0.1, 1.0
    b1, b2, eps, wd, max_norm = (float(np.float32(v)) for v in (b1, b2, eps, wd, max_norm))
    params = {"w": f32((3, 4)), "b": f32((5,), 0.5)}
    steps = 20
    # gradient scale per step: some above the clipping norm, some below
    scales = [0.05, 0.3, 2.0, 0.1, 5.0] * 4
    grads = [{"w": f32((3, 4), s), "b": f32((5,), s)} for s in scales]
    opt = optax.chain(
        optax.clip_by_global_norm(max_norm),
        optax.adamw(learning_rate=sched, b1=b1, b2=b2, eps=eps, weight_decay=wd),
    )
    p = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), params)
    state = opt.init(p)
    out = []
    for k in range(steps):
        g = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), grads[k])
        updates, state = opt.update(g, state, p)
        p = optax.apply_updates(p, updates)
        out.append(
            {
                # optax's schedule is evaluated at the count *before* the step
                "lr": float(sched(k)),
                "global_norm": float(optax.global_norm(g)),
                "w": as_list(p["w"]),
                "b": as_list(p["b"]),
            }
        )
    return {
        "b1": b1,
        "b2": b2,
        "eps": eps,
        "weight_decay": wd,
        "max_norm": max_norm,
        "init": {"w": as_list(params["w"]), "w_shape": [3, 4], "b": as_list(params["b"])},
        "grads": [{"w": as_list(g["w"]), "b": as_list(g["b"])} for g in grads],
        "steps": out,
    }


def masked_ce_case():
    n, vocab = 7, 11
    logits = f32((n, vocab), 4.0)
    logits[2, 5] = 60.0  # a confident position: log-sum-exp must not overflow
    targets = RNG.integers(0, vocab, n)
    mask = np.array([0, 1, 1, 0, 1, 1, 0], dtype=np.int64)

    def loss(z):
        per = optax.losses.softmax_cross_entropy_with_integer_labels(z, jnp.asarray(targets))
        return jnp.sum(per * mask)

    z = jnp.asarray(logits, jnp.float64)
    return {
        "logits": as_list(logits),
        "shape": [n, vocab],
        "targets": targets.tolist(),
        "mask": mask.tolist(),
        "loss_sum": float(loss(z)),
        "grad_logits": as_list(jax.grad(loss)(z)),
    }


def kd_case(temperature, alpha, reverse):
    n, vocab = 5, 9
    s, t = f32((n, vocab), 2.0), f32((n, vocab), 2.0)
    targets = RNG.integers(0, vocab, n)
    T = float(np.float32(temperature))
    a = float(np.float32(alpha))

    def loss(student):
        ls = jax.nn.log_softmax(student / T, axis=-1)
        lt = jax.nn.log_softmax(jnp.asarray(t, jnp.float64) / T, axis=-1)
        if reverse:
            kl = optax.losses.kl_divergence_with_log_targets(lt, ls)  # KL(p_s || p_t)
        else:
            kl = optax.losses.kl_divergence(ls, jnp.exp(lt))  # KL(p_t || p_s)
        soft = jnp.sum(kl) * T * T
        hard = jnp.sum(optax.losses.softmax_cross_entropy_with_integer_labels(student, jnp.asarray(targets)))
        return a * soft + (1.0 - a) * hard

    z = jnp.asarray(s, jnp.float64)
    return {
        "temperature": T,
        "alpha": a,
        "reverse_kl": reverse,
        "shape": [n, vocab],
        "student": as_list(s),
        "teacher": as_list(t),
        "targets": targets.tolist(),
        "loss_sum": float(loss(z)),
        "grad_student": as_list(jax.grad(loss)(z)),
    }


def lora_case():
    batch, seq, d_in, d_out, r = 2, 3, 6, 5, 2
    scale = float(np.float32(16.0 / r))
    x, w = f32((batch, seq, d_in)), f32((d_in, d_out), 0.3)
    a, b = f32((d_in, r), 0.3), f32((r, d_out), 0.3)
    g = f32((batch, seq, d_out))

    def forward(a_, b_):
        xx = jnp.asarray(x, jnp.float64)
        return xx @ jnp.asarray(w, jnp.float64) + scale * ((xx @ a_) @ b_)

    def loss(a_, b_):
        return jnp.sum(forward(a_, b_) * jnp.asarray(g, jnp.float64))

    a64, b64 = jnp.asarray(a, jnp.float64), jnp.asarray(b, jnp.float64)
    ga, gb = jax.grad(loss, argnums=(0, 1))(a64, b64)
    return {
        "dims": {"batch": batch, "seq": seq, "d_in": d_in, "d_out": d_out, "r": r},
        "scale": scale,
        "x": as_list(x),
        "w": as_list(w),
        "a": as_list(a),
        "b": as_list(b),
        "cotangent": as_list(g),
        "y": as_list(forward(a64, b64)),
        "grad_a": as_list(ga),
        "grad_b": as_list(gb),
    }


def main():
    sched, schedule = schedule_case()
    doc = {
        "check": {
            "concept": "Training math: AdamW (bias correction, decoupled weight decay), warm-up + cosine LR, "
            "global-norm clipping, masked cross-entropy, KD loss (KL·T², reverse KL), LoRA forward and gradients",
            "reference": f"JAX {jax.__version__} + optax {optax.__version__} (CPU, float64)",
            "tolerance": "1e-5 relative (to the largest value of each tensor)",
            "why": "ours runs in f32 (about 6e-8 per operation); 20 AdamW steps and softmax sums stay well inside "
            "1e-5, and a wrong formula (a missing bias correction, coupled decay, T instead of T²) is off by far more",
            "test": "crates/train/tests/optax_golden.rs, crates/distill/tests/optax_golden.rs, "
            "crates/lora/tests/optax_golden.rs",
        },
        "generated_by": "scripts/golden_train_math.py",
        "versions": {
            "jax": jax.__version__,
            "jaxlib": jax.lib.__version__ if hasattr(jax.lib, "__version__") else jax.__version__,
            "optax": optax.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        "schedule": schedule,
        "adamw": adamw_case(sched),
        "masked_ce": masked_ce_case(),
        "kd": [kd_case(1.0, 1.0, False), kd_case(2.0, 0.5, False), kd_case(4.0, 0.3, True), kd_case(2.0, 0.0, False)],
        "lora": lora_case(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
