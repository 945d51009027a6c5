//! Continuous batching: one decode step for several generations at once.
//!
//! Decoding one token reads every weight of the model once and does little
//! arithmetic with each (chapter 11): its speed is set by memory, not by the
//! cores. Several sequences that each need one more token can share that
//! read: their tokens go through the matrices as the rows of one batch, and
//! each weight, once loaded, multiplies all of them. Only RoPE and attention
//! run per sequence, at its own position against its own KV cache
//! ([`Llama::forward_batch`](locallm_model::Llama::forward_batch)).
//!
//! Each generation keeps everything that makes it one request: its session
//! (cache and tokens), sampler, penalties, stop tokens, grammar and
//! log-probabilities. [`step`] only replaces the forward pass that
//! [`Generation`]'s `next` would make on its own: after it, `next` samples
//! from logits that are already there.

use burn::tensor::{Int, Tensor, TensorData};
use locallm_model::Seq;

use crate::generate::Generation;

// ANCHOR: batch_step
/// Runs the token each of `gens` sampled last through the model, all in one
/// batched forward pass, each sequence at its own position in its own
/// session's cache. Generations that are over, or whose logits are ready
/// (just started), take no row. Then each one's `next` samples its token
/// without a forward pass. Returns how many sequences went through the model.
///
/// Panics if the generations' sessions hold different models.
pub fn step(gens: &mut [&mut Generation<'_, '_>]) -> usize {
    // the generations that need a forward pass, with the token each feeds
    let mut rows: Vec<(&mut Generation<'_, '_>, u32)> = gens
        .iter_mut()
        .filter_map(|g| g.next_input().map(|token| (&mut **g, token)))
        .collect();
    let Some((first, _)) = rows.first() else {
        return 0;
    };
    let (model, device) = (first.session.model, first.session.device.clone());
    let ids: Vec<i64> = rows.iter().map(|(_, t)| *t as i64).collect();
    let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [rows.len(), 1]), &device);
    // each sequence at its own position (how many tokens its cache holds)
    let mut caches: Vec<_> = (rows.iter_mut())
        .map(|(g, _)| {
            let session = &mut *g.session;
            assert!(std::ptr::eq(session.model, model), "one model per batch");
            (session.tokens.len(), session.cache.as_mut())
        })
        .collect();
    // on a thread of rayon's pool, as `Session::feed` does
    let logits = rayon::scope(|_| {
        let mut seqs: Vec<Seq<'_>> = (caches.iter_mut())
            .map(|(start, cache)| Seq {
                start: *start,
                cache: &mut **cache,
            })
            .collect();
        model.forward_batch(input, &mut seqs) // [n, vocab]
    });
    drop(caches);
    let logits = logits.into_data().try_to_vec::<f32>().expect("f32 logits");
    let vocab = logits.len() / rows.len();
    for ((g, token), row) in rows.iter_mut().zip(logits.chunks_exact(vocab)) {
        g.session.tokens.push(*token);
        g.fed(row.to_vec());
    }
    rows.len()
}
// ANCHOR_END: batch_step
