//! GBNF: llama.cpp's grammar format, so that any grammar written for
//! `llama-cli --grammar-file` constrains our answers the same way.
//!
//! Where [`crate::json_grammar`] knows one language (JSON, maybe of a
//! schema), a GBNF grammar is a set of rules a user writes:
//!
//! ```text
//! root ::= "yes" | "no"
//! ```
//!
//! In two halves, like the JSON grammar:
//!
//! 1. `parse.rs` reads the text into rules of character classes and rule
//!    references (groups and repetitions desugared), with an error that
//!    says where for anything it cannot use (`left_recursion.rs`: the
//!    rules it must refuse).
//! 2. `stacks.rs` matches code points against them: llama.cpp's set of
//!    stacks, with each set numbered and each step remembered.
//!
//! This file joins them into a [`ByteAutomaton`] for the token mask in
//! [`crate::constrained`]. The mask feeds bytes, and grammars speak of
//! characters, so [`GbnfState`] also holds the start of a UTF-8 character
//! whose last bytes have not come yet (llama.cpp's `partial_utf8`): a token
//! may end inside a character, and the next token finishes it.
//!
//! Where it differs from llama.cpp, on purpose: bytes that are not UTF-8
//! (a stray continuation byte, a lead byte mid-character, `C0`, `C1`,
//! `F5`-`FF`) are refused wherever they come, where llama.cpp checks only
//! a character continued from the previous token; control tokens are not
//! offered to the grammar at all (see [`crate::constrained::TokenTrie`]);
//! and the parser refuses what llama.cpp would take silently (see
//! `parse.rs`). On every other text the verdicts and the token masks are
//! llama.cpp's (tests/golden/gbnf).

mod left_recursion;
mod parse;
mod stacks;

use std::sync::Mutex;

pub use parse::{GbnfError, MAX_REPETITIONS};

use crate::constrained::ByteAutomaton;
use stacks::{DEAD, Dfa, Program, SharedDfa};

/// A parsed GBNF grammar, ready to constrain generation.
#[derive(Debug)]
pub struct GbnfGrammar {
    program: Program,
    dfa: SharedDfa,
    start: u32,
}

/// Where the text is in the grammar: a set of stacks, by number, and the
/// bytes of an unfinished UTF-8 character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GbnfState {
    set: u32,
    /// The bits of the unfinished character so far.
    partial: u32,
    /// Its continuation bytes still to come (0: none pending).
    remain: u8,
}

impl GbnfGrammar {
    /// Parses `text` (llama.cpp's GBNF, start rule `root`).
    pub fn parse(text: &str) -> Result<Self, GbnfError> {
        let program = Program::new(parse::parse(text)?);
        let mut dfa = Dfa::default();
        let start = dfa.start(&program);
        Ok(GbnfGrammar {
            program,
            dfa: Mutex::new(dfa),
            start,
        })
    }

    /// Whether all of `text` is one `root`.
    pub fn accepts(&self, text: &str) -> bool {
        let mut state = self.start();
        text.bytes().all(|b| self.advance(&mut state, b)) && self.is_complete(&state)
    }

    fn dfa(&self) -> std::sync::MutexGuard<'_, Dfa> {
        // the DFA is only a cache: a panic elsewhere cannot leave it wrong
        self.dfa.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn step(&self, state: &mut GbnfState, c: u32) -> bool {
        state.set = self.dfa().step(&self.program, state.set, c);
        state.set != DEAD
    }
}

/// The code points an unfinished character may still become, as
/// llama.cpp counts them (`low` skips the overlong encodings of a 3- or
/// 4-byte lead with no bits set yet).
fn partial_range(state: &GbnfState) -> (u32, u32) {
    let shift = 6 * state.remain as u32;
    let mut low = state.partial << shift;
    let high = low | ((1 << shift) - 1);
    if low == 0 {
        low = match state.remain {
            2 => 1 << 11,
            3 => 1 << 16,
            _ => low,
        };
    }
    (low, high)
}

impl ByteAutomaton for GbnfGrammar {
    type State = GbnfState;

    fn start(&self) -> GbnfState {
        GbnfState {
            set: self.start,
            partial: 0,
            remain: 0,
        }
    }

    fn advance(&self, state: &mut GbnfState, b: u8) -> bool {
        if state.remain > 0 {
            // a continuation byte (10xxxxxx), or the text is not UTF-8
            if b & 0xc0 != 0x80 {
                return false;
            }
            state.partial = (state.partial << 6) | (b & 0x3f) as u32;
            state.remain -= 1;
            if state.remain == 0 {
                let c = std::mem::take(&mut state.partial);
                return self.step(state, c);
            }
        } else {
            let (bits, remain) = match b {
                // NUL: llama.cpp reads token text as C strings, so never
                0x00 => return false,
                0x01..=0x7f => return self.step(state, b as u32),
                0xc2..=0xdf => (b & 0x1f, 1),
                0xe0..=0xef => (b & 0x0f, 2),
                0xf0..=0xf4 => (b & 0x07, 3),
                // a continuation byte first, or no UTF-8 lead byte at all
                _ => return false,
            };
            state.partial = bits as u32;
            state.remain = remain;
        }
        // mid-character: go on only if some class may take what it becomes
        let (low, high) = partial_range(state);
        self.dfa()
            .may_match_range(&self.program, state.set, low, high)
    }

    fn may_end_token(&self, state: &GbnfState) -> bool {
        if state.remain == 0 {
            return true;
        }
        // an overlong 2-byte form of an ASCII character can never complete
        if state.remain == 1 && state.partial < 2 {
            return false;
        }
        let (low, high) = partial_range(state);
        self.dfa()
            .may_end_partial(&self.program, state.set, low, high)
    }

    fn is_complete(&self, state: &GbnfState) -> bool {
        state.remain == 0 && self.dfa().complete(state.set)
    }
}
