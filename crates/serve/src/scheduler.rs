//! The model thread's loop: continuous batching over a few KV cache slots.
//!
//! ```text
//!  queue ──▶ waiting (FIFO) ──admit──▶ active answers, one slot each ──▶ events
//!                 ▲  prompt prefilled      │ one batched forward pass per step:
//!                 │  into a free slot      │ every active answer's next token
//!                 └──── slot freed ◀───────┘ (done, or its client went away)
//! ```
//!
//! Between two steps the scheduler takes in new work, drops answers whose
//! client went away, and admits waiting requests into free slots in the
//! order they came (the prompt is computed then, all but its last token,
//! which joins the next step). Each step is one forward pass for all active
//! answers (`locallm_infer::batch::step`); then each answer samples its own
//! token and streams its own text ([`crate::answer`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use locallm_infer::embed::embed;
use locallm_infer::{Session, batch};
use locallm_tokenizer::Tokenizer;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TryRecvError;

use crate::answer::{Answer, Progress};
use crate::worker::{Counters, EmbedJob, Job, Work};

/// What the loop works with: the model's slots, and what it reports to.
pub struct Scheduler<'a, 'm> {
    pub model: &'m locallm_model::Llama,
    pub device: &'a locallm_model::Device,
    pub tokenizer: &'a Arc<Tokenizer>,
    pub counters: &'a Counters,
}

impl<'m> Scheduler<'_, 'm> {
    // ANCHOR: scheduler_loop
    /// Serves `jobs` with the sessions in `slots` (one request each at a
    /// time), until every sender is gone and every answer is done.
    pub fn run(&self, slots: &mut [Session<'m>], mut jobs: mpsc::UnboundedReceiver<Work>) {
        let mut free: Vec<&mut Session<'m>> = slots.iter_mut().collect();
        let mut waiting: VecDeque<Job> = VecDeque::new();
        let mut active: Vec<Answer<'_, 'm, '_>> = Vec::new();
        // the vocabulary trie for structured output, built on first use
        let mut trie = None;
        let mut open = true;
        loop {
            // take in new work: wait for it when there is nothing to do
            while open {
                let idle = active.is_empty() && waiting.is_empty();
                let work = match idle {
                    true => jobs.blocking_recv().ok_or(TryRecvError::Disconnected),
                    false => jobs.try_recv(),
                };
                match work {
                    Ok(Work::Generate(job)) => waiting.push_back(job),
                    Ok(Work::Embed(job)) => self.embed(job),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => open = false,
                }
            }
            // a client that went away leaves the batch before the next step
            for answer in extract(&mut active, Answer::is_gone) {
                free.push(answer.cancel(self.counters));
            }
            // first come, first served: admit into free slots
            while !free.is_empty()
                && let Some(job) = waiting.pop_front()
            {
                if job.events.is_closed() {
                    // left while waiting in the queue
                    self.counters.cancelled.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let session = take_slot(&mut free, &job.prompt);
                match Answer::start(session, job, self.tokenizer, &mut trie, self.counters) {
                    Ok(answer) => active.push(answer),
                    Err(session) => free.push(session),
                }
            }
            if active.is_empty() {
                match open || !waiting.is_empty() {
                    true => continue,
                    false => return,
                }
            }
            // one forward pass for every active answer's next token...
            let mut generations: Vec<_> = active.iter_mut().map(|a| &mut a.generation).collect();
            if batch::step(&mut generations) > 0 {
                self.counters.decode_steps.fetch_add(1, Ordering::SeqCst);
            }
            // ...then each samples and streams its own
            let mut still = Vec::with_capacity(active.len());
            for mut answer in active.drain(..) {
                match answer.advance(self.counters) {
                    Progress::Going => still.push(answer),
                    Progress::Complete => free.push(answer.complete(self.counters)),
                    Progress::Gone => free.push(answer.cancel(self.counters)),
                }
            }
            active = still;
        }
    }
    // ANCHOR_END: scheduler_loop

    /// Embeddings use the model but no slot: they run between two steps.
    fn embed(&self, job: EmbedJob) {
        if !job.reply.is_closed() {
            let vectors = (job.inputs.iter())
                .map(|t| embed(self.model, t, self.device))
                .collect();
            let _ = job.reply.send(vectors);
        }
    }
}

/// The free slot whose cache holds the longest prefix of `prompt` (the
/// previous turns of the same chat, the same system prompt): prompt caching
/// per slot. Ties go to the slot freed last.
fn take_slot<'s, 'm>(free: &mut Vec<&'s mut Session<'m>>, prompt: &[u32]) -> &'s mut Session<'m> {
    let shared = |s: &Session<'_>| {
        s.tokens()
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
    };
    let best = (0..free.len())
        .max_by_key(|&i| (shared(free[i]), i))
        .expect("a free slot");
    free.remove(best)
}

/// Removes and returns the items of `items` for which `pred` holds.
fn extract<T>(items: &mut Vec<T>, pred: impl Fn(&T) -> bool) -> Vec<T> {
    let (out, keep) = items.drain(..).partition(|item| pred(item));
    *items = keep;
    out
}
