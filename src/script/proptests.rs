//! Property tests of the parser: no input makes it panic, and operator precedence and
//! associativity give the value the expression tree has. Bounded by proptest's case count
//! (256 per property) and the generated trees' depth (4).

use proptest::prelude::*;
use serde_json::{Map, Value};

use super::{DocContext, Script};

/// An arithmetic tree and its value with Java's `int` arithmetic.
#[derive(Clone, Debug)]
enum Tree {
    Leaf(i32),
    Node(char, Box<Tree>, Box<Tree>),
}

impl Tree {
    fn value(&self) -> i32 {
        match self {
            Tree::Leaf(n) => *n,
            Tree::Node(op, l, r) => {
                let (l, r) = (l.value(), r.value());
                match op {
                    '+' => l.wrapping_add(r),
                    '-' => l.wrapping_sub(r),
                    _ => l.wrapping_mul(r),
                }
            }
        }
    }

    fn precedence(&self) -> u8 {
        match self {
            Tree::Leaf(_) => 3,
            Tree::Node('*', ..) => 2,
            Tree::Node(..) => 1,
        }
    }

    /// The tree written with only the parentheses precedence and left-associativity need.
    fn render(&self) -> String {
        match self {
            Tree::Leaf(n) if *n < 0 => format!("({n})"),
            Tree::Leaf(n) => n.to_string(),
            Tree::Node(op, l, r) => {
                let p = self.precedence();
                let left = if l.precedence() < p {
                    format!("({})", l.render())
                } else {
                    l.render()
                };
                let right = if r.precedence() <= p {
                    format!("({})", r.render())
                } else {
                    r.render()
                };
                format!("{left} {op} {right}")
            }
        }
    }
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = (-1000i32..1000).prop_map(Tree::Leaf);
    leaf.prop_recursive(4, 32, 2, |inner| {
        (
            prop::sample::select(vec!['+', '-', '*']),
            inner.clone(),
            inner,
        )
            .prop_map(|(op, l, r)| Tree::Node(op, Box::new(l), Box::new(r)))
    })
}

proptest! {
    #[test]
    fn arbitrary_text_is_parsed_or_refused_never_a_panic(text in "\\PC{0,80}") {
        let script = Script::new(text, Map::new());
        let _ = script.run_update(Map::new(), &DocContext::default());
    }

    #[test]
    fn precedence_and_associativity_follow_the_tree(tree in tree()) {
        let source = format!("ctx._source.v = {}", tree.render());
        let (_, doc) = Script::new(source.clone(), Map::new())
            .run_update(Map::new(), &DocContext::default())
            .map_err(|e| TestCaseError::fail(format!("{source}: {e:?}")))?;
        prop_assert_eq!(doc.get("v"), Some(&Value::from(tree.value())), "{}", source);
    }
}
