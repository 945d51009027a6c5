//! Chapter 9 exercise: Gemma 3's sliding-window attention.
//!
//! Gemma 3 mixes two kinds of attention layer. A *global* layer is the usual
//! causal one: the query at position `q` sees every key at a position
//! `k <= q`. A *local* (sliding-window) layer sees only the last `window`
//! positions: keys with `k <= q` and `q - k < window`, so with a window of
//! 512 the query at position 600 sees keys 89..=600 and nothing before. The
//! KV cache of a local layer never needs more than `window` positions.
//!
//! Which layers are local comes from a *pattern* `n`: in every group of `n`
//! layers the last one is global and the others are local (llama.cpp's
//! `set_swa_pattern`: layer `il` is local iff `il % n < n - 1`). A pattern of
//! 0 means that every layer is local. Gemma 3 270M's file gives the window
//! (`gemma3.attention.sliding_window` = 512) but no pattern key
//! (`gemma3.attention.sliding_window_pattern`); llama.cpp then uses 6 for
//! this family (src/models/gemma3.cpp: `load_swa_pattern(ml, 6)`), so its 18
//! layers are five local ones, one global one, five local ones, and so on.
//!
//! Check your work with `./check.sh ch09-sliding-window` (from `exercises/`).
//! The tests compare your layer list with what `locallm-model` reads from the
//! real Gemma 3 270M file, and your visibility rule with the mask that the
//! model's own `Attention::forward` applies, with the file's window.

/// Whether layer `layer` is a local (sliding-window) one, for a pattern of
/// `pattern` layers per global layer (0: every layer is local).
pub fn is_local(layer: usize, pattern: usize) -> bool {
    // TODO: the rule above; careful with a pattern of 0.
    let _ = (layer, pattern);
    todo!("is this layer a sliding-window one?")
}

/// Whether the query at position `query` may see the key at position `key`:
/// `window` is `Some(w)` on a local layer and `None` on a global one.
pub fn visible(query: usize, key: usize, window: Option<usize>) -> bool {
    // TODO: causal first, then the window.
    let _ = (query, key, window);
    todo!("may this query see this key?")
}
