//! The matcher: llama.cpp's sets of stacks, turned into a DFA as it runs.
//!
//! A position is a place in one alternative of a rule. A *stack* is a path
//! through the grammar: its top is the character class to match next, and
//! below it the positions to return to when the rules above end. A rule
//! with alternatives makes several stacks, so the matcher's state is a
//! *set* of stacks; a character keeps the stacks whose top class matches it,
//! pops that class, and expands each stack until its top is a class again
//! (or the stack is empty: the root rule is complete). That is llama.cpp's
//! algorithm (`llama_grammar_advance_stack` and `llama_grammar_accept`), and
//! it is exact for any grammar without left recursion, which the parser
//! refuses.
//!
//! We chose it over an Earley parser because the token mask needs one thing
//! above all: a cheap copy of the state, once per node of the vocabulary
//! trie. So every set of stacks gets a number the first time it appears,
//! and every (set, character) step is computed once and remembered: the
//! state the trie walk copies is two small integers, and in free text most
//! steps are a hash lookup. The sets and steps seen are the states and
//! edges of a DFA built lazily, only where the text goes. A grammar whose
//! stacks grow without bound (nested brackets) keeps making new sets, one
//! per depth; they are kept as long as the grammar is.

use std::collections::HashMap;
use std::sync::Mutex;

use super::parse::{CharClass, Rules, Sym};

/// One instruction of the flattened grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Char(u32),
    Rule(u32),
    /// The end of an alternative.
    End,
}

type Stack = Vec<u32>;

/// The grammar as the matcher reads it: every alternative's symbols laid
/// end to end, each followed by `End`.
#[derive(Debug)]
pub(super) struct Program {
    code: Vec<Op>,
    /// Per rule, where each of its alternatives starts in `code`.
    alts: Vec<Vec<u32>>,
    classes: Vec<CharClass>,
    root: u32,
}

impl Program {
    pub fn new(rules: Rules) -> Self {
        let mut code = Vec::new();
        let mut alts = Vec::new();
        for rule in &rules.rules {
            let mut starts = Vec::new();
            for alt in rule {
                starts.push(code.len() as u32);
                code.extend(alt.iter().map(|s| match *s {
                    Sym::Char(c) => Op::Char(c),
                    Sym::Rule(r) => Op::Rule(r),
                }));
                code.push(Op::End);
            }
            alts.push(starts);
        }
        Program {
            code,
            alts,
            classes: rules.classes,
            root: rules.root,
        }
    }

    // ANCHOR: expand
    /// Expands `stack` until every copy has a character class on top (or
    /// is empty), adding the results to `out`.
    fn expand(&self, stack: Stack, out: &mut Vec<Stack>) {
        let mut todo = vec![stack];
        while let Some(stack) = todo.pop() {
            let Some(&top) = stack.last() else {
                out.push(stack); // the root rule is complete
                continue;
            };
            match self.code[top as usize] {
                Op::Char(_) => out.push(stack),
                Op::Rule(rule) => {
                    // replace the reference by each alternative of the rule,
                    // with what follows the reference below it
                    for &start in &self.alts[rule as usize] {
                        let mut next = stack[..stack.len() - 1].to_vec();
                        if self.code[top as usize + 1] != Op::End {
                            next.push(top + 1);
                        }
                        if self.code[start as usize] != Op::End {
                            next.push(start);
                        }
                        todo.push(next);
                    }
                }
                Op::End => unreachable!("a stack never points at the end of an alternative"),
            }
        }
    }
    // ANCHOR_END: expand

    fn start(&self) -> Vec<Stack> {
        let mut out = Vec::new();
        for &start in &self.alts[self.root as usize] {
            let stack = if self.code[start as usize] == Op::End {
                vec![]
            } else {
                vec![start]
            };
            self.expand(stack, &mut out);
        }
        canonical(out)
    }

    /// The stacks after `c`: those whose top class matches it, popped and
    /// expanded.
    fn step(&self, stacks: &[Stack], c: u32) -> Vec<Stack> {
        let mut out = Vec::new();
        for stack in stacks {
            let Some(&top) = stack.last() else { continue };
            let Op::Char(class) = self.code[top as usize] else {
                unreachable!("expanded stacks have a class on top")
            };
            if self.classes[class as usize].matches(c) {
                let mut next = stack[..stack.len() - 1].to_vec();
                if self.code[top as usize + 1] != Op::End {
                    next.push(top + 1);
                }
                self.expand(next, &mut out);
            }
        }
        canonical(out)
    }

    fn top_class(&self, stack: &Stack) -> Option<&CharClass> {
        match self.code[*stack.last()? as usize] {
            Op::Char(c) => Some(&self.classes[c as usize]),
            _ => None,
        }
    }
}

/// Sorted and without duplicates, so that equal sets compare equal.
fn canonical(mut stacks: Vec<Stack>) -> Vec<Stack> {
    stacks.sort_unstable();
    stacks.dedup();
    stacks
}

/// A set of stacks by number, and the steps between sets seen so far.
#[derive(Debug, Default)]
pub(super) struct Dfa {
    sets: Vec<Vec<Stack>>,
    ids: HashMap<Vec<Stack>, u32>,
    /// (set, character) → set; [`DEAD`] when no stack takes the character.
    next: HashMap<(u32, u32), u32>,
}

/// The empty set: the text can no longer match.
pub(super) const DEAD: u32 = u32::MAX;

impl Dfa {
    pub fn intern(&mut self, stacks: Vec<Stack>) -> u32 {
        if stacks.is_empty() {
            return DEAD;
        }
        if let Some(&id) = self.ids.get(&stacks) {
            return id;
        }
        let id = self.sets.len() as u32;
        self.sets.push(stacks.clone());
        self.ids.insert(stacks, id);
        id
    }

    /// The start set of `program`.
    pub fn start(&mut self, program: &Program) -> u32 {
        self.intern(program.start())
    }

    /// The set after character `c` from set `set`.
    pub fn step(&mut self, program: &Program, set: u32, c: u32) -> u32 {
        if let Some(&next) = self.next.get(&(set, c)) {
            return next;
        }
        let stacks = program.step(&self.sets[set as usize], c);
        let next = self.intern(stacks);
        self.next.insert((set, c), next);
        next
    }

    /// Some stack of `set` is empty: the text so far is a whole `root`.
    pub fn complete(&self, set: u32) -> bool {
        self.sets[set as usize].iter().any(Vec::is_empty)
    }

    /// Whether some character in `low..=high` may still match: a cheap
    /// over-estimate that lets the trie walk drop a subtree mid-character.
    pub fn may_match_range(&self, program: &Program, set: u32, low: u32, high: u32) -> bool {
        self.sets[set as usize].iter().any(|s| {
            program.top_class(s).is_some_and(|class| {
                class.negated || class.ranges.iter().any(|&(a, b)| a <= high && low <= b)
            })
        })
    }

    /// llama.cpp's test for a token that ends inside a character
    /// (`llama_grammar_match_partial_char`): true if, for some stack, the
    /// code points that could complete the character (`low..=high`)
    /// overlap a range of a class on top (for a negated class: overlap none
    /// of its ranges).
    pub fn may_end_partial(&self, program: &Program, set: u32, low: u32, high: u32) -> bool {
        self.sets[set as usize].iter().any(|s| {
            program.top_class(s).is_some_and(|class| {
                let overlaps = class.ranges.iter().any(|&(a, b)| a <= high && low <= b);
                overlaps != class.negated
            })
        })
    }
}

/// A [`Dfa`] shared by every state of one grammar (the server's threads
/// may mask with the same grammar at once).
pub(super) type SharedDfa = Mutex<Dfa>;
