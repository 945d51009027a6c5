//! One request being answered: its generation in a KV cache slot, and what
//! turns the tokens into the events its client receives (text pieces cut at
//! stop strings, log-probabilities, the final counts).
//!
//! The scheduler owns the order (which requests decode, when each step
//! runs); an [`Answer`] owns everything that makes a request its own, so
//! answers that decode in one batch never see each other.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use locallm_infer::{FinishReason, Generation, Session, TokenLogprobs, TokenTrie};
use locallm_tokenizer::{IncrementalDecoder, Tokenizer};

use crate::stop::{Scan, StopMatcher};
use crate::worker::{Counters, Done, Event, Finish, Job};

/// A request in a slot, from its prompt to its `Done`.
pub struct Answer<'s, 'm, 't> {
    job: Job,
    pub(crate) generation: Generation<'s, 'm>,
    decoder: IncrementalDecoder<'t>,
    stops: StopMatcher,
    /// log-probabilities of tokens whose text is not sent yet
    scored: Vec<TokenLogprobs>,
    completion_tokens: usize,
    /// a stop string was found (its index)
    stopped: Option<usize>,
    prompt_done: Instant,
}

/// Where an answer stands after a step.
pub enum Progress {
    /// Its text so far is sent; it needs another step.
    Going,
    /// It is complete: [`Answer::complete`] sends the rest and `Done`.
    Complete,
    /// Its client went away.
    Gone,
}

impl<'s, 'm, 't> Answer<'s, 'm, 't> {
    // ANCHOR: answer_start
    /// Computes the prompt in `session` (reusing the prefix it holds) and
    /// tells the client it has started. A job that cannot start gets an
    /// error event, and the session is handed back.
    pub fn start(
        session: &'s mut Session<'m>,
        job: Job,
        tokenizer: &'t Arc<Tokenizer>,
        trie: &mut Option<Arc<TokenTrie>>,
        counters: &Counters,
    ) -> Result<Self, &'s mut Session<'m>> {
        let mut job = job;
        let picked = Instant::now();
        // checked first, so that a failed start still has the session to give back
        if let Err(err) = session.check(&job.prompt, &job.options) {
            let _ = job.events.send(Event::Error(err.to_string()));
            return Err(session);
        }
        let mut generation =
            (session.generate_batched(&job.prompt, job.options.clone())).expect("checked above");
        if let Some(logprobs) = &job.logprobs {
            generation = generation.with_logprobs(logprobs.top);
        }
        if let Some(grammar) = &job.grammar {
            let trie = trie.get_or_insert_with(|| Arc::new(TokenTrie::new(tokenizer)));
            generation =
                generation.with_constraint(grammar.constraint(trie.clone(), tokenizer.clone()));
        }
        let prompt_done = Instant::now();
        let reused = generation.reused_tokens();
        counters
            .prompt_tokens
            .fetch_add(job.prompt.len() - reused, Ordering::SeqCst);
        (counters.prompt_tokens_cached).fetch_add(reused, Ordering::SeqCst);
        counters.prompt_time.add(prompt_done - picked);
        let _ = job.events.send(Event::Started {
            cached_tokens: reused,
            queued: picked.duration_since(job.submitted),
            prompt_time: prompt_done - picked,
        });
        counters.running.fetch_add(1, Ordering::SeqCst);
        Ok(Answer {
            stops: StopMatcher::new(std::mem::take(&mut job.stop)),
            job,
            generation,
            decoder: tokenizer.decoder(),
            scored: Vec::new(),
            completion_tokens: 0,
            stopped: None,
            prompt_done,
        })
    }
    // ANCHOR_END: answer_start

    /// Whether the client went away (its receiver is dropped).
    pub fn is_gone(&self) -> bool {
        self.job.events.is_closed()
    }

    // ANCHOR: answer_advance
    /// After a batched step: samples this answer's next token from its own
    /// logits and sends the text it completes (held back while it could
    /// still become a stop string).
    pub fn advance(&mut self, counters: &Counters) -> Progress {
        let Some(token) = self.generation.next() else {
            return Progress::Complete;
        };
        self.completion_tokens += 1;
        counters.generated_tokens.fetch_add(1, Ordering::SeqCst);
        self.scored.extend(self.generation.last_logprobs().cloned());
        if self.completion_tokens == 1 {
            let waited = self.job.submitted.elapsed().as_secs_f64();
            counters.first_token.observe(waited);
        }
        let piece = self.decoder.push(token).unwrap_or_default();
        let text = match self.stops.push(&piece) {
            Scan::Text(text) => text,
            Scan::Stopped { text, stop } => {
                self.stopped = Some(stop);
                text
            }
        };
        if !text.is_empty() && !self.send_text(text) {
            return Progress::Gone;
        }
        match self.stopped {
            Some(_) => Progress::Complete,
            None => Progress::Going,
        }
    }
    // ANCHOR_END: answer_advance

    fn send_text(&mut self, text: String) -> bool {
        if let Some(logprobs) = &self.job.logprobs {
            let _ = logprobs.sender.send(std::mem::take(&mut self.scored));
        }
        self.job.events.send(Event::Text(text)).is_ok()
    }

    /// Sends what is left of the text and `Done`; gives the slot back.
    pub fn complete(mut self, counters: &Counters) -> &'s mut Session<'m> {
        let finish = match self.stopped {
            Some(stop) => Finish::StopString(stop),
            None => {
                // no stop string so far: flush the held-back text (which may
                // still complete one, with the decoder's last bytes)
                let (rest, stopped) = match self.stops.push(&self.decoder.finish()) {
                    Scan::Text(text) => (text + &self.stops.finish(), None),
                    Scan::Stopped { text, stop } => (text, Some(stop)),
                };
                if !rest.is_empty() {
                    self.send_text(rest);
                }
                match (stopped, self.generation.finish_reason()) {
                    (Some(stop), _) => Finish::StopString(stop),
                    (None, Some(FinishReason::Stop)) => Finish::EndOfTurn,
                    (None, _) => Finish::Length,
                }
            }
        };
        let decoding = self.prompt_done.elapsed();
        counters.decode_time.add(decoding);
        if self.completion_tokens > 0 && !decoding.is_zero() {
            let rate = self.completion_tokens as f64 / decoding.as_secs_f64();
            counters.decode_rate.observe(rate);
        }
        let done = Done {
            finish,
            prompt_tokens: self.job.prompt.len(),
            completion_tokens: self.completion_tokens,
            cached_tokens: self.generation.reused_tokens(),
        };
        // the place and the counts are updated before the client hears we
        // are done, so a /metrics read right after the answer sees them
        let Job { events, permit, .. } = self.job;
        drop(permit);
        counters.finished.fetch_add(1, Ordering::SeqCst);
        counters.running.fetch_sub(1, Ordering::SeqCst);
        let _ = events.send(Event::Done(done));
        self.generation.into_session()
    }

    /// Stops an answer whose client went away; gives the slot back.
    pub fn cancel(self, counters: &Counters) -> &'s mut Session<'m> {
        counters.cancelled.fetch_add(1, Ordering::SeqCst);
        counters.running.fetch_sub(1, Ordering::SeqCst);
        self.generation.into_session()
    }
}
