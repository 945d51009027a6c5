//! The GBNF parser's errors and the matcher's handling of characters split
//! across bytes (and so across tokens). llama.cpp's verdicts on whole texts
//! are in gbnf_golden.rs.

use locallm_infer::constrained::ByteAutomaton;
use locallm_infer::gbnf::{GbnfError, GbnfGrammar};

fn error(text: &str) -> GbnfError {
    GbnfGrammar::parse(text).expect_err(text)
}

fn syntax_at(text: &str) -> (usize, usize, String) {
    match error(text) {
        GbnfError::Syntax {
            line,
            column,
            message,
        } => (line, column, message),
        other => panic!("{text}: {other}"),
    }
}

#[test]
fn syntax_errors_say_where() {
    let (line, column, message) = syntax_at("root ::= \"a\"\nitem ::= \"b\" ]\n");
    assert_eq!((line, column), (2, 14), "{message}");
    assert!(message.contains("unexpected ']'"), "{message}");

    let (line, column, message) = syntax_at("root ::= \"a\n");
    assert_eq!((line, column), (1, 10));
    assert!(message.contains("unterminated string"), "{message}");

    // columns count characters, not bytes
    let (line, column, message) = syntax_at("root ::= \"é\" \"\\q\"\n");
    assert_eq!((line, column), (1, 15));
    assert!(message.contains("unknown escape"), "{message}");

    let (_, _, message) = syntax_at("root = \"a\"\n");
    assert!(message.contains("'::='"), "{message}");
    let (_, _, message) = syntax_at("root ::= * \"a\"\n");
    assert!(message.contains("needs an item"), "{message}");
    let (_, _, message) = syntax_at("root ::= (\"a\"\n");
    assert!(message.contains("')'"), "{message}");
    let (_, _, message) = syntax_at("root ::= \"\\x4\"\n");
    assert!(message.contains("2 hex digits"), "{message}");
    let (_, _, message) = syntax_at("root ::= \"a\"{3,2}\n");
    assert!(message.contains("below min"), "{message}");
    let (_, _, message) = syntax_at("root ::= \"a\"{2001}\n");
    assert!(message.contains("limit"), "{message}");
    let (_, _, message) = syntax_at("root ::= \"a\"\nroot ::= \"b\"\n");
    assert!(message.contains("defined twice"), "{message}");
    let (_, _, message) = syntax_at("root ::= <|im_end|>\n");
    assert!(message.contains("token references"), "{message}");
}

#[test]
fn undefined_rules_missing_root_and_left_recursion_are_named() {
    assert_eq!(
        error("root ::= item\n\nitem ::= \"a\" other\n"),
        GbnfError::UndefinedRule {
            name: "other".into(),
            line: 3,
            column: 14
        }
    );
    assert_eq!(error("item ::= \"a\"\n"), GbnfError::NoRoot);
    assert_eq!(error(""), GbnfError::NoRoot);
    assert_eq!(
        error("root ::= expr\nexpr ::= expr \"+\" \"1\" | \"1\"\n"),
        GbnfError::LeftRecursion("expr".into())
    );
    // hidden behind a rule that may be empty (llama.cpp misses this one
    // and recurses until its stack overflows)
    assert_eq!(
        error("root ::= x root \"a\" | \"b\"\nx ::= \"c\"?\n"),
        GbnfError::LeftRecursion("root".into())
    );
    // and behind a group
    assert!(matches!(
        error("root ::= (root \"a\")* \"b\"\n"),
        GbnfError::LeftRecursion(_)
    ));
}

#[test]
fn repetitions_count_exactly() {
    let g = GbnfGrammar::parse("root ::= \"ab\"{2,3} [0-9]{2} \"!\"{1,} \"?\"?\n").unwrap();
    for ok in ["abab12!", "ababab12!!!?", "abab12!?"] {
        assert!(g.accepts(ok), "{ok}");
    }
    for bad in [
        "ab12!",
        "abababab12!",
        "abab1!",
        "abab123!",
        "abab12",
        "abab12!??",
    ] {
        assert!(!g.accepts(bad), "{bad}");
    }
    // `x*?` is `(x*)?`, as in llama.cpp
    let g = GbnfGrammar::parse("root ::= \"a\"*? \"b\"\n").unwrap();
    assert!(g.accepts("aaab") && g.accepts("b"));
}

/// A character fed byte by byte, as tokens that split it would feed it.
#[test]
fn characters_split_across_bytes_match_once_whole() {
    let g = GbnfGrammar::parse("root ::= [é-ë] \"東\" .\n").unwrap();
    let mut s = g.start();
    // é is C3 A9: after C3 the character is unfinished, and é..ë can still come
    assert!(g.advance(&mut s, 0xc3));
    assert!(!g.is_complete(&s));
    assert!(g.may_end_token(&s));
    assert!(g.advance(&mut s, 0xa9));
    // 東 is E6 9D B1; E6 9D could still become it, E6 9E could not
    let mut wrong = s;
    assert!(g.advance(&mut s, 0xe6) && g.advance(&mut s, 0x9d));
    assert!(g.may_end_token(&s));
    assert!(g.advance(&mut wrong, 0xe6));
    assert!(!g.advance(&mut wrong, 0x9e));
    assert!(g.advance(&mut s, 0xb1));
    // `.`: any character, of any length
    let mut four = s;
    for b in "😀".bytes() {
        assert!(g.advance(&mut four, b));
    }
    assert!(g.is_complete(&four));
    // a character still unfinished is not a complete text
    let mut part = s;
    assert!(g.advance(&mut part, 0xf0) && !g.is_complete(&part));
    // not UTF-8: a continuation byte first, a lead byte mid-character, NUL
    let mut bad = s;
    assert!(!g.advance(&mut bad, 0x80));
    let mut bad = s;
    assert!(g.advance(&mut bad, 0xc3) && !g.advance(&mut bad, b'a'));
    let mut bad = s;
    assert!(!g.advance(&mut bad, 0));
}

/// llama.cpp's rule for a token that ends inside a character: it stays
/// allowed only if some class on top could take what the character may
/// become; a negated class refuses it as soon as one of its ranges could.
#[test]
fn tokens_ending_mid_character_follow_llamacpp() {
    let g = GbnfGrammar::parse("root ::= [^é]\n").unwrap();
    let mut s = g.start();
    assert!(g.advance(&mut s, 0xc3));
    // C3 could become é, which [^é] excludes: a token ending here is refused
    assert!(!g.may_end_token(&s));
    // but a token going on to ê (C3 AA) is fine
    assert!(g.advance(&mut s, 0xaa) && g.is_complete(&s));

    let g = GbnfGrammar::parse("root ::= [a-z]\n").unwrap();
    let mut s = g.start();
    // no 2-byte character is in a-z: the walk stops at the lead byte
    assert!(!g.advance(&mut s, 0xc3));
}
