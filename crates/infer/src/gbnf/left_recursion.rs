//! Left recursion: a rule that can reach itself before reading a character
//! (`expr ::= expr "+" term`). The set-of-stacks matcher would expand it
//! forever, so the parser refuses it, as llama.cpp does; this check also
//! sees recursion hidden behind a rule that may match nothing, which
//! llama.cpp's misses.

use super::parse::{GbnfError, Rules, Sym};

/// Refuses a rule that can reach itself without reading a character: the
/// stack-based matcher would expand it forever.
pub(super) fn check_left_recursion(rules: &Rules) -> Result<(), GbnfError> {
    let n = rules.rules.len();
    // which rules can match the empty text (a fixed point)
    let mut nullable = vec![false; n];
    loop {
        let mut changed = false;
        for (r, alts) in rules.rules.iter().enumerate() {
            if !nullable[r]
                && alts.iter().any(|alt| {
                    alt.iter()
                        .all(|s| matches!(s, Sym::Rule(q) if nullable[*q as usize]))
                })
            {
                nullable[r] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // r → q when q can come first in r (after nullable rules)
    let first: Vec<Vec<usize>> = rules
        .rules
        .iter()
        .map(|alts| {
            let mut out = Vec::new();
            for alt in alts {
                for s in alt {
                    match *s {
                        Sym::Rule(q) => {
                            out.push(q as usize);
                            if !nullable[q as usize] {
                                break;
                            }
                        }
                        Sym::Char(_) => break,
                    }
                }
            }
            out
        })
        .collect();
    // a depth-first search for a cycle: 0 unvisited, 1 on the path, 2 done
    let mut mark = vec![0u8; n];
    for start in 0..n {
        if mark[start] != 0 {
            continue;
        }
        let mut path = vec![(start, 0usize)];
        mark[start] = 1;
        while let Some(&mut (r, ref mut next)) = path.last_mut() {
            if let Some(&q) = first[r].get(*next) {
                *next += 1;
                match mark[q] {
                    0 => {
                        mark[q] = 1;
                        path.push((q, 0));
                    }
                    1 => return Err(GbnfError::LeftRecursion(display_name(rules, q))),
                    _ => {}
                }
            } else {
                mark[r] = 2;
                path.pop();
            }
        }
    }
    Ok(())
}

/// A desugared rule is reported as the user's rule it came from.
fn display_name(rules: &Rules, r: usize) -> String {
    let name = &rules.names[r];
    match name.rsplit_once('_') {
        Some((parent, id)) if id.parse::<usize>().is_ok() => parent.to_string(),
        _ => name.clone(),
    }
}
