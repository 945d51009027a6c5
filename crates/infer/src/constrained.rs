//! Constrained decoding: only let the model pick tokens that keep its
//! answer valid JSON (of a schema), or valid under a GBNF grammar.
//!
//! Both grammars, [`crate::json_grammar`] and [`crate::gbnf`], are read
//! one byte at a time through [`ByteAutomaton`]; the model picks tokens,
//! each a run of bytes. Before every sampling step we compute which
//! tokens the grammar accepts from the current state and set every other
//! logit to `-inf`: the sampler then cannot choose them, whatever the
//! temperature. The end-of-turn token is allowed only once the value is
//! complete, so the answer can neither stop early nor go on after it.
//!
//! Checking 49,152 tokens one by one would repeat work: many tokens share
//! their first bytes (` "`, ` "name`, ` "names`). So the vocabulary is kept
//! as a byte trie, and one depth-first walk feeds each byte once per trie
//! node, dropping a whole subtree as soon as its prefix is rejected. Inside
//! a free string almost every token is allowed, and the walk visits the
//! whole trie: a few milliseconds, small next to a decode step.

use std::sync::Arc;

use locallm_tokenizer::{TokenType, Tokenizer};

use crate::gbnf::GbnfGrammar;
use crate::json_grammar::JsonGrammar;

// ANCHOR: byte_automaton
/// A grammar read one byte at a time: what the token mask needs from it.
pub trait ByteAutomaton {
    /// Where the text is; copied once per vocabulary-trie node, so it
    /// should be cheap to clone.
    type State: Clone;
    /// The state before the first byte.
    fn start(&self) -> Self::State;
    /// Feeds one byte; false (and the state is then unusable) if no valid
    /// text continues with it.
    fn advance(&self, state: &mut Self::State, byte: u8) -> bool;
    /// Whether a token may end in `state`. Always, unless the grammar
    /// speaks of characters and the token ends inside one no rule can
    /// complete (llama.cpp's test for GBNF).
    fn may_end_token(&self, _state: &Self::State) -> bool {
        true
    }
    /// The text so far is complete: the answer may end here.
    fn is_complete(&self, state: &Self::State) -> bool;
}
// ANCHOR_END: byte_automaton

/// The vocabulary as a byte trie (special tokens left out: they are never
/// text a grammar could match; llama.cpp's GBNF sampler, by contrast,
/// matches the printed form of a control token such as `<|im_start|>`).
#[derive(Debug)]
pub struct TokenTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Debug, Default)]
struct TrieNode {
    /// `(byte, child)`, sorted by byte.
    children: Vec<(u8, u32)>,
    /// Tokens whose bytes end here.
    tokens: Vec<u32>,
}

impl TokenTrie {
    pub fn new(tokenizer: &Tokenizer) -> Self {
        let mut nodes = vec![TrieNode::default()];
        for id in 0..tokenizer.vocab_size() as u32 {
            let normal = matches!(
                tokenizer.token_type(id),
                Some(TokenType::Normal | TokenType::Byte | TokenType::Undefined)
            );
            let Ok(bytes) = tokenizer.token_to_piece(id) else {
                continue;
            };
            if !normal || bytes.is_empty() {
                continue;
            }
            let mut at = 0usize;
            for &b in bytes {
                at = match nodes[at].children.binary_search_by_key(&b, |c| c.0) {
                    Ok(i) => nodes[at].children[i].1 as usize,
                    Err(i) => {
                        nodes.push(TrieNode::default());
                        let child = (nodes.len() - 1) as u32;
                        nodes[at].children.insert(i, (b, child));
                        child as usize
                    }
                };
            }
            nodes[at].tokens.push(id);
        }
        TokenTrie { nodes }
    }

    // ANCHOR: allowed_tokens
    /// Every token whose bytes the grammar accepts from `state`.
    pub fn allowed<A: ByteAutomaton>(&self, grammar: &A, state: &A::State, out: &mut Vec<u32>) {
        out.clear();
        // (trie node, grammar state after that node's bytes)
        let mut stack = vec![(0usize, state.clone())];
        while let Some((node, state)) = stack.pop() {
            for &(byte, child) in &self.nodes[node].children {
                let mut next = state.clone();
                if grammar.advance(&mut next, byte) {
                    let at = &self.nodes[child as usize];
                    if grammar.may_end_token(&next) {
                        out.extend_from_slice(&at.tokens);
                    }
                    if !at.children.is_empty() {
                        stack.push((child as usize, next));
                    }
                }
            }
        }
    }
    // ANCHOR_END: allowed_tokens
}

/// A generation's constraint: the grammar, where the answer is in it, and
/// the vocabulary trie to turn that into a token mask.
pub struct Constraint<A: ByteAutomaton> {
    grammar: Arc<A>,
    trie: Arc<TokenTrie>,
    state: A::State,
    /// The token bytes, to advance the state after a token is chosen.
    tokenizer: Arc<Tokenizer>,
}

/// JSON (of a schema): `response_format`, `--json-schema`, tool calls.
pub type JsonConstraint = Constraint<JsonGrammar>;
/// A GBNF grammar: `--grammar`, `--grammar-file`.
pub type GbnfConstraint = Constraint<GbnfGrammar>;

impl<A: ByteAutomaton> Clone for Constraint<A> {
    fn clone(&self) -> Self {
        Constraint {
            grammar: self.grammar.clone(),
            trie: self.trie.clone(),
            state: self.state.clone(),
            tokenizer: self.tokenizer.clone(),
        }
    }
}

impl<A: ByteAutomaton> std::fmt::Debug for Constraint<A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Constraint")
            .field("complete", &self.is_complete())
            .finish_non_exhaustive()
    }
}

/// What a constraint lets the sampler do next.
#[derive(Debug, PartialEq, Eq)]
pub enum Allowed {
    /// Sample among the unmasked logits.
    Sample,
    /// The value is complete and nothing may follow: end the answer.
    End,
}

impl<A: ByteAutomaton> Constraint<A> {
    pub fn new(grammar: Arc<A>, trie: Arc<TokenTrie>, tokenizer: Arc<Tokenizer>) -> Self {
        let state = grammar.start();
        Constraint {
            grammar,
            trie,
            state,
            tokenizer,
        }
    }

    // ANCHOR: mask
    /// Sets the logit of every token the grammar rejects to `-inf`; stop
    /// tokens stay only once the value is complete.
    pub fn mask(&self, logits: &mut [f32], stop_tokens: &[u32]) -> Allowed {
        let mut allowed = Vec::new();
        self.trie.allowed(&*self.grammar, &self.state, &mut allowed);
        let complete = self.is_complete();
        if allowed.is_empty() && complete {
            return Allowed::End;
        }
        let mut keep = vec![false; logits.len()];
        for &id in &allowed {
            if let Some(k) = keep.get_mut(id as usize) {
                *k = true;
            }
        }
        if complete {
            for &id in stop_tokens {
                if let Some(k) = keep.get_mut(id as usize) {
                    *k = true;
                }
            }
        }
        for (logit, keep) in logits.iter_mut().zip(keep) {
            if !keep {
                *logit = f32::NEG_INFINITY;
            }
        }
        Allowed::Sample
    }
    // ANCHOR_END: mask

    /// Moves the state past a chosen token (not a stop token).
    pub fn accept(&mut self, token: u32) -> bool {
        let Ok(bytes) = self.tokenizer.token_to_piece(token) else {
            return false;
        };
        bytes
            .iter()
            .all(|&b| self.grammar.advance(&mut self.state, b))
    }

    /// The text so far is complete.
    pub fn is_complete(&self) -> bool {
        self.grammar.is_complete(&self.state)
    }
}

/// A constraint of any grammar, as the generation loop holds it.
pub trait TokenConstraint: Send {
    /// See [`Constraint::mask`].
    fn mask(&self, logits: &mut [f32], stop_tokens: &[u32]) -> Allowed;
    /// See [`Constraint::accept`].
    fn accept(&mut self, token: u32) -> bool;
}

impl<A> TokenConstraint for Constraint<A>
where
    A: ByteAutomaton + Send + Sync,
    A::State: Send,
{
    fn mask(&self, logits: &mut [f32], stop_tokens: &[u32]) -> Allowed {
        Constraint::mask(self, logits, stop_tokens)
    }
    fn accept(&mut self, token: u32) -> bool {
        Constraint::accept(self, token)
    }
}

impl<A> From<Constraint<A>> for Box<dyn TokenConstraint>
where
    A: ByteAutomaton + Send + Sync + 'static,
    A::State: Send,
{
    fn from(constraint: Constraint<A>) -> Self {
        Box::new(constraint)
    }
}

/// Either grammar, as a command or a request names it.
#[derive(Debug, Clone)]
pub enum Grammar {
    Json(Arc<JsonGrammar>),
    Gbnf(Arc<GbnfGrammar>),
}

impl Grammar {
    /// A fresh constraint (at the start of the text) for one generation.
    pub fn constraint(
        &self,
        trie: Arc<TokenTrie>,
        tokenizer: Arc<Tokenizer>,
    ) -> Box<dyn TokenConstraint> {
        match self {
            Grammar::Json(g) => Box::new(JsonConstraint::new(g.clone(), trie, tokenizer)),
            Grammar::Gbnf(g) => Box::new(GbnfConstraint::new(g.clone(), trie, tokenizer)),
        }
    }
}
