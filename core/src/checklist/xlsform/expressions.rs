//! XLSForm expressions (XPath, as ODK writes them) to and from Testigo's conditions
//! and constraint rules.
//!
//! Testigo's conditions are a small, checkable language on purpose, so only the part
//! of XPath that maps onto it exactly is taken:
//!
//! - relevance: `${q} = 'yes'`, `${q} != 'no'`, `${q} = ''` / `${q} != ''`,
//!   `${count} >= 2`, `${decimal} > 1.5` (also `<`, `<=`), `selected(${q}, 'x')`,
//!   `count-selected(${q}) >= 2`, joined with `and`, `or`, `not(…)` and parentheses;
//! - constraints, on the answer itself (`.`): `. >= 0 and . <= 200`, `. > 0.5` on a
//!   decimal, `string-length(.) <= 500`, `count-selected(.) >= 1`.
//!
//! The translation keeps XPath's meaning where it differs from a first reading:
//! `${q} != 'no'` holds for an unanswered question too, so it becomes
//! `not(equals)`, not Testigo's `not_equals` (which needs an answer); that one is
//! written back as `(${q} != '' and ${q} != 'no')`. Anything else (arithmetic,
//! `if()`, `regex()`, dates, another question inside a constraint…) is refused with
//! the reason, never approximated.

use crate::checklist::number::Number;
use crate::checklist::relevance::{Condition, Literal};
use crate::checklist::template::{ConstraintRule, QuestionType};

/// Why an expression cannot be taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpressionError(pub String);

type Parsed<T> = Result<T, ExpressionError>;

fn fail<T>(message: impl Into<String>) -> Parsed<T> {
    Err(ExpressionError(message.into()))
}

// ----- tokens --------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Ref(String),
    Dot,
    Str(String),
    Num(Number),
    Name(String),
    Open,
    Close,
    Comma,
    Op(Op),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    /// The same comparison with its sides swapped (`3 < ${q}` is `${q} > 3`).
    fn flipped(self) -> Op {
        match self {
            Op::Lt => Op::Gt,
            Op::Le => Op::Ge,
            Op::Gt => Op::Lt,
            Op::Ge => Op::Le,
            same => same,
        }
    }

    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

/// Longest expression taken; XLSForm cells are short.
const MAX_EXPRESSION_CHARS: usize = 4_000;
/// Deepest nesting of parentheses and `not()`; keeps the parser's recursion bounded.
const MAX_DEPTH: usize = 32;

fn tokenize(input: &str) -> Parsed<Vec<Token>> {
    if input.chars().count() > MAX_EXPRESSION_CHARS {
        return fail(format!("longer than {MAX_EXPRESSION_CHARS} characters"));
    }
    let chars: Vec<char> = input.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            _ if c.is_whitespace() => i += 1,
            '$' => {
                if chars.get(i + 1) != Some(&'{') {
                    return fail("“$” must start a ${question} reference");
                }
                let end = (i + 2..chars.len())
                    .find(|&j| chars[j] == '}')
                    .ok_or_else(|| ExpressionError("a ${reference} is not closed".into()))?;
                let name: String = chars[i + 2..end].iter().collect();
                tokens.push(Token::Ref(name.trim().to_owned()));
                i = end + 1;
            }
            '\'' | '"' => {
                let end = (i + 1..chars.len())
                    .find(|&j| chars[j] == c)
                    .ok_or_else(|| ExpressionError("a quoted text is not closed".into()))?;
                tokens.push(Token::Str(chars[i + 1..end].iter().collect()));
                i = end + 1;
            }
            '(' => {
                tokens.push(Token::Open);
                i += 1;
            }
            ')' => {
                tokens.push(Token::Close);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '=' => {
                tokens.push(Token::Op(Op::Eq));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                tokens.push(Token::Op(Op::Ne));
                i += 2;
            }
            '<' | '>' => {
                let or_equal = chars.get(i + 1) == Some(&'=');
                tokens.push(Token::Op(match (c, or_equal) {
                    ('<', false) => Op::Lt,
                    ('<', true) => Op::Le,
                    ('>', false) => Op::Gt,
                    _ => Op::Ge,
                }));
                i += if or_equal { 2 } else { 1 };
            }
            '.' if !chars.get(i + 1).is_some_and(char::is_ascii_digit) => {
                if chars.get(i + 1) == Some(&'.') {
                    return fail("“..” (the parent group) is not supported");
                }
                tokens.push(Token::Dot);
                i += 1;
            }
            _ if c.is_ascii_digit()
                || c == '.'
                || (c == '-' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let number: String = chars[start..i].iter().collect();
                match Number::parse(&number) {
                    Some(n) => tokens.push(Token::Num(n)),
                    None => return fail(format!("{number} is not a number")),
                }
            }
            _ if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric()
                        || chars[i] == '_'
                        || chars[i] == '-'
                        || chars[i] == ':')
                {
                    i += 1;
                }
                tokens.push(Token::Name(chars[start..i].iter().collect()));
            }
            '+' | '-' | '*' | '|' | '/' => {
                return fail(format!("“{c}”: arithmetic and paths are not supported"));
            }
            other => return fail(format!("unexpected “{other}”")),
        }
    }
    Ok(tokens)
}

// ----- syntax --------------------------------------------------------------------------

/// A value compared in an expression.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Ref(String),
    Dot,
    Str(String),
    Num(Number),
    CountSelected(Box<Value>),
    StringLength(Box<Value>),
}

#[derive(Clone, Debug, PartialEq)]
enum Node {
    Or(Vec<Node>),
    And(Vec<Node>),
    Not(Box<Node>),
    Compare(Value, Op, Value),
    Selected(Value, String),
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn parse(input: &str) -> Parsed<Node> {
        let mut parser = Parser {
            tokens: tokenize(input)?,
            at: 0,
            depth: 0,
        };
        if parser.tokens.is_empty() {
            return fail("the expression is empty");
        }
        let node = parser.or()?;
        match parser.peek() {
            None => Ok(node),
            Some(token) => fail(format!(
                "unexpected {} after the expression",
                describe(token)
            )),
        }
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, wanted: Token) -> Parsed<()> {
        match self.next() {
            Some(token) if token == wanted => Ok(()),
            Some(token) => fail(format!(
                "expected {} but found {}",
                describe(&wanted),
                describe(&token)
            )),
            None => fail(format!("expected {} at the end", describe(&wanted))),
        }
    }

    fn is_word(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Name(n)) if n == word)
    }

    fn or(&mut self) -> Parsed<Node> {
        let mut items = vec![self.and()?];
        while self.is_word("or") {
            self.at += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::Or(items)
        })
    }

    fn and(&mut self) -> Parsed<Node> {
        let mut items = vec![self.unary()?];
        while self.is_word("and") {
            self.at += 1;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 {
            items.remove(0)
        } else {
            Node::And(items)
        })
    }

    fn nested(&mut self, parse: impl FnOnce(&mut Self) -> Parsed<Node>) -> Parsed<Node> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return fail(format!("nested more than {MAX_DEPTH} deep"));
        }
        let node = parse(self);
        self.depth -= 1;
        node
    }

    fn unary(&mut self) -> Parsed<Node> {
        match self.peek() {
            Some(Token::Open) => self.nested(|p| {
                p.at += 1;
                let inner = p.or()?;
                p.expect(Token::Close)?;
                Ok(inner)
            }),
            Some(Token::Name(name)) if name == "not" => self.nested(|p| {
                p.at += 1;
                p.expect(Token::Open)?;
                let inner = p.or()?;
                p.expect(Token::Close)?;
                Ok(Node::Not(Box::new(inner)))
            }),
            Some(Token::Name(name)) if name == "selected" => {
                self.at += 1;
                self.expect(Token::Open)?;
                let question = self.value()?;
                self.expect(Token::Comma)?;
                let choice = match self.next() {
                    Some(Token::Str(s)) => s,
                    Some(Token::Num(n)) => n.to_string(),
                    _ => return fail("selected() takes a question and a quoted choice value"),
                };
                self.expect(Token::Close)?;
                Ok(Node::Selected(question, choice))
            }
            _ => {
                let left = self.value()?;
                let op = match self.next() {
                    Some(Token::Op(op)) => op,
                    Some(token) => {
                        return fail(format!(
                            "expected a comparison (=, !=, <, >…) but found {}",
                            describe(&token)
                        ))
                    }
                    None => return fail("a value is not compared with anything"),
                };
                let right = self.value()?;
                Ok(Node::Compare(left, op, right))
            }
        }
    }

    fn value(&mut self) -> Parsed<Value> {
        match self.next() {
            Some(Token::Ref(name)) => Ok(Value::Ref(name)),
            Some(Token::Dot) => Ok(Value::Dot),
            Some(Token::Str(s)) => Ok(Value::Str(s)),
            Some(Token::Num(n)) => Ok(Value::Num(n)),
            Some(Token::Name(name)) if name == "count-selected" || name == "string-length" => {
                self.expect(Token::Open)?;
                let inner = self.value()?;
                self.expect(Token::Close)?;
                Ok(if name == "count-selected" {
                    Value::CountSelected(Box::new(inner))
                } else {
                    Value::StringLength(Box::new(inner))
                })
            }
            Some(Token::Name(name)) => fail(format!("the {name}() function is not supported")),
            Some(token) => fail(format!("expected a value but found {}", describe(&token))),
            None => fail("the expression ends too early"),
        }
    }
}

fn describe(token: &Token) -> String {
    match token {
        Token::Ref(name) => format!("${{{name}}}"),
        Token::Dot => "“.”".into(),
        Token::Str(s) => format!("'{s}'"),
        Token::Num(n) => n.to_string(),
        Token::Name(name) => format!("“{name}”"),
        Token::Open => "“(”".into(),
        Token::Close => "“)”".into(),
        Token::Comma => "“,”".into(),
        Token::Op(op) => format!("“{}”", op.text()),
    }
}

// ----- relevance -----------------------------------------------------------------------

/// Translates a `relevant` expression (or a Testigo rule's `when`). `kind_of` gives the
/// type of each question, so `${agents} = '3'` compares a count with a number and
/// `${choice} = 1` a choice with the value `"1"`.
pub fn condition(
    input: &str,
    kind_of: &dyn Fn(&str) -> Option<QuestionType>,
) -> Result<Condition, ExpressionError> {
    to_condition(&Parser::parse(input)?, kind_of)
}

fn to_condition(node: &Node, kind_of: &dyn Fn(&str) -> Option<QuestionType>) -> Parsed<Condition> {
    Ok(match node {
        Node::Or(items) => Condition::Any(
            items
                .iter()
                .map(|n| to_condition(n, kind_of))
                .collect::<Parsed<_>>()?,
        ),
        Node::And(items) => {
            let items: Vec<Condition> = items
                .iter()
                .map(|n| to_condition(n, kind_of))
                .collect::<Parsed<_>>()?;
            not_equals(&items).unwrap_or(Condition::All(items))
        }
        Node::Not(inner) => Condition::Not(Box::new(to_condition(inner, kind_of)?)),
        // A select_one of yes/no/unknown becomes a yes_no_unknown question, which has
        // no choice list: `selected` on it is equality.
        Node::Selected(Value::Ref(question), choice)
            if kind_of(question) == Some(QuestionType::YesNoUnknown) =>
        {
            Condition::Equals {
                question: question.clone(),
                value: literal_for(kind_of(question), &Value::Str(choice.clone()))?,
            }
        }
        Node::Selected(Value::Ref(question), choice) => Condition::Selected {
            question: question.clone(),
            value: choice.clone(),
        },
        Node::Selected(_, _) => return fail("selected() reads a ${question}"),
        Node::Compare(left, op, right) => compare(left, *op, right, kind_of)?,
    })
}

/// `${q} != '' and ${q} != 'v'` is Testigo's `not_equals` (answered, with another value).
fn not_equals(items: &[Condition]) -> Option<Condition> {
    match items {
        [Condition::Answered(a), Condition::Not(inner)] => match inner.as_ref() {
            Condition::Equals { question, value } if question == a => Some(Condition::NotEquals {
                question: question.clone(),
                value: value.clone(),
            }),
            _ => None,
        },
        _ => None,
    }
}

fn compare(
    left: &Value,
    op: Op,
    right: &Value,
    kind_of: &dyn Fn(&str) -> Option<QuestionType>,
) -> Parsed<Condition> {
    // The question on the left, the literal on the right.
    let (subject, op, literal) = match (left, right) {
        (Value::Str(_) | Value::Num(_), _) => (right, op.flipped(), left),
        _ => (left, op, right),
    };
    if matches!(
        literal,
        Value::Ref(_) | Value::Dot | Value::CountSelected(_) | Value::StringLength(_)
    ) {
        return fail("only a question compared with a fixed value is supported, not two questions");
    }
    match subject {
        Value::Ref(question) => {
            let kind = kind_of(question);
            if let Value::Str(s) = literal {
                if s.is_empty() {
                    return match op {
                        Op::Eq => Ok(Condition::Not(Box::new(Condition::Answered(
                            question.clone(),
                        )))),
                        Op::Ne => Ok(Condition::Answered(question.clone())),
                        _ => fail("an empty text can only be compared with = or !="),
                    };
                }
            }
            match op {
                Op::Eq | Op::Ne => {
                    let equals = Condition::Equals {
                        question: question.clone(),
                        value: literal_for(kind, literal)?,
                    };
                    Ok(if op == Op::Eq {
                        equals
                    } else {
                        Condition::Not(Box::new(equals))
                    })
                }
                _ if kind == Some(QuestionType::Decimal) => {
                    decimal_bound(question, op, decimal(literal)?)
                }
                _ => {
                    let n = number(literal)?;
                    // XPath: an unanswered question is never less than a number.
                    let answered = Condition::Answered(question.clone());
                    bound(question, op, n, Some(answered))
                }
            }
        }
        Value::CountSelected(inner) => match inner.as_ref() {
            // count-selected of nothing is 0, which is less than any positive bound.
            Value::Ref(question) => {
                let n = number(literal)?;
                if op == Op::Eq || op == Op::Ne {
                    let exactly = Condition::All(vec![
                        at_least(question, n),
                        Condition::Not(Box::new(at_least(question, n.saturating_add(1)))),
                    ]);
                    return Ok(if op == Op::Eq {
                        exactly
                    } else {
                        Condition::Not(Box::new(exactly))
                    });
                }
                bound(question, op, n, None)
            }
            _ => fail("count-selected() reads a ${question}"),
        },
        Value::Dot => fail("“.” is the question's own answer, which only a constraint reads"),
        Value::StringLength(_) => fail("string-length() is supported in constraints only"),
        _ => fail("a comparison must read a ${question}"),
    }
}

fn at_least(question: &str, value: i64) -> Condition {
    Condition::AtLeast {
        question: question.to_owned(),
        value: Number::Integer(value),
    }
}

/// `>=`, `>`, `<`, `<=` on a decimal question. Whole numbers step by one (`> 2` is
/// `at_least 3`); decimals do not, so `>` is `more_than`. Like XPath, an unanswered
/// question is never less than a number.
fn decimal_bound(question: &str, op: Op, value: Number) -> Parsed<Condition> {
    let at_least = || Condition::AtLeast {
        question: question.to_owned(),
        value,
    };
    let more_than = || Condition::MoreThan {
        question: question.to_owned(),
        value,
    };
    let less = |not: Condition| {
        Condition::All(vec![
            Condition::Answered(question.to_owned()),
            Condition::Not(Box::new(not)),
        ])
    };
    Ok(match op {
        Op::Ge => at_least(),
        Op::Gt => more_than(),
        Op::Lt => less(at_least()),
        Op::Le => less(more_than()),
        Op::Eq | Op::Ne => return fail("= and != are not bounds"),
    })
}

/// `>=`, `>`, `<`, `<=` as `at_least`; `less_needs` is added before a "less than" so
/// that an unanswered question does not count as small.
fn bound(question: &str, op: Op, n: i64, less_needs: Option<Condition>) -> Parsed<Condition> {
    let less = |limit: i64| {
        let not = Condition::Not(Box::new(at_least(question, limit)));
        match less_needs.clone() {
            Some(answered) => Condition::All(vec![answered, not]),
            None => not,
        }
    };
    Ok(match op {
        Op::Ge => at_least(question, n),
        Op::Gt => at_least(question, n.saturating_add(1)),
        Op::Lt => less(n),
        Op::Le => less(n.saturating_add(1)),
        // Callers handle equality before asking for a bound.
        Op::Eq | Op::Ne => return fail("= and != are not bounds"),
    })
}

fn literal_for(kind: Option<QuestionType>, literal: &Value) -> Parsed<Literal> {
    match (kind, literal) {
        (Some(QuestionType::Count), _) => number(literal).map(Literal::Integer),
        (Some(QuestionType::Decimal), _) => decimal(literal).map(|n| match n {
            Number::Integer(n) => Literal::Integer(n),
            Number::Decimal(x) => Literal::Decimal(x),
        }),
        (_, Value::Str(s)) => Ok(Literal::Text(s.clone())),
        (_, Value::Num(n)) => Ok(Literal::Text(n.to_string())),
        _ => fail("expected a fixed value"),
    }
}

/// A whole number, for counts and selections.
fn number(literal: &Value) -> Parsed<i64> {
    match literal {
        Value::Num(Number::Integer(n)) => Ok(*n),
        Value::Num(n) => fail(format!("{n} is not a whole number")),
        Value::Str(s) => s
            .trim()
            .parse()
            .map_err(|_| ExpressionError(format!("'{s}' is not a whole number"))),
        _ => fail("expected a whole number"),
    }
}

/// A whole or decimal number, for decimal questions.
fn decimal(literal: &Value) -> Parsed<Number> {
    match literal {
        Value::Num(n) => Ok(*n),
        Value::Str(s) => {
            Number::parse(s).ok_or_else(|| ExpressionError(format!("'{s}' is not a number")))
        }
        _ => fail("expected a number"),
    }
}

// ----- constraints ---------------------------------------------------------------------

/// Translates a `constraint` on a `kind` question into Testigo's rules, all with the
/// row's one message. The kind matters for bounds: a count's `. > 3` is `min 4`, a
/// decimal's is `more_than 3`.
pub fn constraint_rules(
    input: &str,
    kind: QuestionType,
) -> Result<Vec<ConstraintRule>, ExpressionError> {
    let node = Parser::parse(input)?;
    let parts = match node {
        Node::And(items) => items,
        single => vec![single],
    };
    let mut rules = Vec::new();
    for part in parts {
        let Node::Compare(left, op, right) = part else {
            return fail(UNSUPPORTED_CONSTRAINT);
        };
        let literal_first = matches!(left, Value::Num(_) | Value::Str(_));
        let (subject, op, literal) = if literal_first {
            (right, op.flipped(), left)
        } else {
            (left, op, right)
        };
        if subject == Value::Dot && kind == QuestionType::Decimal {
            let n =
                decimal(&literal).map_err(|_| ExpressionError(UNSUPPORTED_CONSTRAINT.into()))?;
            match op {
                Op::Ge => rules.push(ConstraintRule::Min(n)),
                Op::Le => rules.push(ConstraintRule::Max(n)),
                Op::Eq => rules.extend([ConstraintRule::Min(n), ConstraintRule::Max(n)]),
                Op::Gt => rules.push(ConstraintRule::MoreThan(n)),
                Op::Lt => rules.push(ConstraintRule::LessThan(n)),
                Op::Ne => return fail(UNSUPPORTED_CONSTRAINT),
            }
            continue;
        }
        let n = match number(&literal) {
            Ok(n) => n,
            Err(error) if matches!(literal, Value::Num(_)) => return Err(error),
            Err(_) => return fail(UNSUPPORTED_CONSTRAINT),
        };
        let below = n.checked_sub(1);
        let above = n.checked_add(1);
        let unsigned = |v: Option<i64>| {
            v.and_then(|v| u32::try_from(v).ok())
                .ok_or_else(|| ExpressionError(format!("{n} is out of range here")))
        };
        let whole = Number::Integer;
        match (subject, op) {
            (Value::Dot, Op::Ge) => rules.push(ConstraintRule::Min(whole(n))),
            (Value::Dot, Op::Gt) => rules.push(ConstraintRule::Min(whole(checked(above, n)?))),
            (Value::Dot, Op::Le) => rules.push(ConstraintRule::Max(whole(n))),
            (Value::Dot, Op::Lt) => rules.push(ConstraintRule::Max(whole(checked(below, n)?))),
            (Value::Dot, Op::Eq) => {
                rules.extend([ConstraintRule::Min(whole(n)), ConstraintRule::Max(whole(n))])
            }
            (Value::StringLength(inner), Op::Le) if *inner == Value::Dot => {
                rules.push(ConstraintRule::MaxLength(unsigned(Some(n))?))
            }
            (Value::StringLength(inner), Op::Lt) if *inner == Value::Dot => {
                rules.push(ConstraintRule::MaxLength(unsigned(below)?))
            }
            (Value::CountSelected(inner), op) if *inner == Value::Dot => match op {
                Op::Ge => rules.push(ConstraintRule::MinSelected(unsigned(Some(n))?)),
                Op::Gt => rules.push(ConstraintRule::MinSelected(unsigned(above)?)),
                Op::Le => rules.push(ConstraintRule::MaxSelected(unsigned(Some(n))?)),
                Op::Lt => rules.push(ConstraintRule::MaxSelected(unsigned(below)?)),
                Op::Eq => rules.extend([
                    ConstraintRule::MinSelected(unsigned(Some(n))?),
                    ConstraintRule::MaxSelected(unsigned(Some(n))?),
                ]),
                Op::Ne => return fail(UNSUPPORTED_CONSTRAINT),
            },
            _ => return fail(UNSUPPORTED_CONSTRAINT),
        }
    }
    Ok(rules)
}

/// A bound moved by one (`> n` is `>= n + 1`), unless that overflows.
fn checked(value: Option<i64>, n: i64) -> Parsed<i64> {
    value.ok_or_else(|| ExpressionError(format!("{n} is out of range here")))
}

const UNSUPPORTED_CONSTRAINT: &str = "only bounds on the answer are supported: . >= 0, . <= 200, string-length(.) <= 500, count-selected(.) >= 1, joined with “and”";

// ----- export --------------------------------------------------------------------------

/// Writes a condition in XLSForm syntax; `kind_of` tells a count's `at_least` from a
/// selection's (`count-selected`).
pub fn write_condition(
    condition: &Condition,
    kind_of: &dyn Fn(&str) -> Option<QuestionType>,
) -> String {
    write(condition, kind_of, false)
}

fn write(
    condition: &Condition,
    kind_of: &dyn Fn(&str) -> Option<QuestionType>,
    nested: bool,
) -> String {
    let join = |items: &[Condition], word: &str| {
        let text = items
            .iter()
            .map(|c| write(c, kind_of, true))
            .collect::<Vec<_>>()
            .join(word);
        if nested {
            format!("({text})")
        } else {
            text
        }
    };
    match condition {
        Condition::Answered(q) => format!("${{{q}}} != ''"),
        Condition::Equals { question, value } => format!("${{{question}}} = {}", literal(value)),
        Condition::NotEquals { question, value } => {
            format!(
                "(${{{question}}} != '' and ${{{question}}} != {})",
                literal(value)
            )
        }
        Condition::Selected { question, value } => {
            format!("selected(${{{question}}}, {})", quote(value))
        }
        Condition::AtLeast { question, value } => bound_text(question, ">=", *value, kind_of),
        Condition::MoreThan { question, value } => bound_text(question, ">", *value, kind_of),
        Condition::All(items) => join(items, " and "),
        Condition::Any(items) => join(items, " or "),
        Condition::Not(inner) => format!("not({})", write(inner, kind_of, false)),
    }
}

/// `${q} >= 2`, or `count-selected(${q}) >= 2` for a selection.
fn bound_text(
    question: &str,
    op: &str,
    value: Number,
    kind_of: &dyn Fn(&str) -> Option<QuestionType>,
) -> String {
    match kind_of(question) {
        Some(QuestionType::MultipleChoice) => {
            format!("count-selected(${{{question}}}) {op} {value}")
        }
        _ => format!("${{{question}}} {op} {value}"),
    }
}

fn literal(value: &Literal) -> String {
    match value {
        Literal::Text(s) => quote(s),
        Literal::Integer(n) => n.to_string(),
        Literal::Decimal(x) => Number::Decimal(*x).to_string(),
    }
}

/// XPath has no escapes: a text with `'` is written in double quotes.
fn quote(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}

/// A question's constraint rules as one XLSForm `constraint`.
pub fn write_constraint(rules: &[ConstraintRule]) -> String {
    rules
        .iter()
        .map(|rule| match rule {
            ConstraintRule::Min(n) => format!(". >= {n}"),
            ConstraintRule::Max(n) => format!(". <= {n}"),
            ConstraintRule::MoreThan(n) => format!(". > {n}"),
            ConstraintRule::LessThan(n) => format!(". < {n}"),
            ConstraintRule::MaxLength(n) => format!("string-length(.) <= {n}"),
            ConstraintRule::MinSelected(n) => format!("count-selected(.) >= {n}"),
            ConstraintRule::MaxSelected(n) => format!("count-selected(.) <= {n}"),
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(question: &str) -> Option<QuestionType> {
        Some(match question {
            "agents" => QuestionType::Count,
            "agencies" => QuestionType::MultipleChoice,
            "present" => QuestionType::YesNoUnknown,
            "activity" => QuestionType::SingleChoice,
            "distance" => QuestionType::Decimal,
            _ => QuestionType::Text,
        })
    }

    fn json(input: &str) -> serde_json::Value {
        serde_json::to_value(condition(input, &kinds).unwrap()).unwrap()
    }

    #[test]
    fn every_supported_relevance_form_translates() {
        use serde_json::json;
        assert_eq!(
            json("${present} = 'yes'"),
            json!({"equals": {"question": "present", "value": "yes"}})
        );
        assert_eq!(
            json("'yes' = ${present}"),
            json!({"equals": {"question": "present", "value": "yes"}})
        );
        assert_eq!(
            json("${present} != 'no'"),
            json!({"not": {"equals": {"question": "present", "value": "no"}}})
        );
        assert_eq!(json("${notes} != ''"), json!({"answered": "notes"}));
        assert_eq!(
            json("${notes} = \"\""),
            json!({"not": {"answered": "notes"}})
        );
        assert_eq!(
            json("${agents} = '3'"),
            json!({"equals": {"question": "agents", "value": 3}})
        );
        assert_eq!(
            json("${activity} = 1"),
            json!({"equals": {"question": "activity", "value": "1"}})
        );
        assert_eq!(
            json("${agents} >= 2"),
            json!({"at_least": {"question": "agents", "value": 2}})
        );
        assert_eq!(
            json("${agents} > 2"),
            json!({"at_least": {"question": "agents", "value": 3}})
        );
        assert_eq!(
            json("2 < ${agents}"),
            json!({"at_least": {"question": "agents", "value": 3}})
        );
        assert_eq!(
            json("${agents} < 5"),
            json!({"all": [{"answered": "agents"}, {"not": {"at_least": {"question": "agents", "value": 5}}}]})
        );
        assert_eq!(
            json("${agents} <= 5"),
            json!({"all": [{"answered": "agents"}, {"not": {"at_least": {"question": "agents", "value": 6}}}]})
        );
        assert_eq!(
            json("selected(${agencies}, 'cbp')"),
            json!({"selected": {"question": "agencies", "value": "cbp"}})
        );
        assert_eq!(
            json("count-selected(${agencies}) >= 2"),
            json!({"at_least": {"question": "agencies", "value": 2}})
        );
        assert_eq!(
            json("count-selected(${agencies}) < 2"),
            json!({"not": {"at_least": {"question": "agencies", "value": 2}}})
        );
        assert_eq!(
            json("${present} = 'yes' and (selected(${agencies}, 'cbp') or not(${agents} >= 3))"),
            json!({"all": [
                {"equals": {"question": "present", "value": "yes"}},
                {"any": [
                    {"selected": {"question": "agencies", "value": "cbp"}},
                    {"not": {"at_least": {"question": "agents", "value": 3}}}
                ]}
            ]})
        );
        assert_eq!(
            json("(${present} != '' and ${present} != 'no')"),
            json!({"not_equals": {"question": "present", "value": "no"}})
        );
    }

    #[test]
    fn what_is_not_supported_is_refused_with_a_reason() {
        for (input, reason) in [
            ("${agents} + 1 > 3", "arithmetic"),
            ("if(${a} = 'x', true(), false())", "if()"),
            ("regex(${notes}, '[a-z]+')", "regex()"),
            ("${a} = ${b}", "two questions"),
            ("${agents} > 2.5", "whole number"),
            (". > 3", "own answer"),
            ("${present} = 'yes' and", "ends too early"),
            ("(${present} = 'yes'", "expected “)”"),
            ("${present} = 'yes", "not closed"),
            ("${present}", "not compared"),
            ("", "empty"),
            ("../x = 'y'", "parent group"),
        ] {
            let error = condition(input, &kinds).unwrap_err();
            assert!(error.0.contains(reason), "{input}: {}", error.0);
        }
        let deep = format!("{}${{a}} = 'x'{}", "(".repeat(100), ")".repeat(100));
        assert!(condition(&deep, &kinds).unwrap_err().0.contains("nested"));
    }

    #[test]
    fn constraints_translate_to_bounds() {
        use QuestionType::{Count, MultipleChoice, Text};
        let whole = |n: i64| Number::Integer(n);
        assert_eq!(
            constraint_rules(". >= 0 and . <= 200", Count).unwrap(),
            [
                ConstraintRule::Min(whole(0)),
                ConstraintRule::Max(whole(200))
            ]
        );
        assert_eq!(
            constraint_rules(". > -1 and 100 > .", Count).unwrap(),
            [
                ConstraintRule::Min(whole(0)),
                ConstraintRule::Max(whole(99))
            ]
        );
        assert_eq!(
            constraint_rules("string-length(.) <= 500", Text).unwrap(),
            [ConstraintRule::MaxLength(500)]
        );
        assert_eq!(
            constraint_rules(
                "count-selected(.) >= 1 and count-selected(.) < 4",
                MultipleChoice
            )
            .unwrap(),
            [
                ConstraintRule::MinSelected(1),
                ConstraintRule::MaxSelected(3)
            ]
        );
        assert_eq!(
            constraint_rules(". = 4", Count).unwrap(),
            [ConstraintRule::Min(whole(4)), ConstraintRule::Max(whole(4))]
        );
        for unsupported in [
            ". >= 0 or . <= 5",
            "${other} > 3",
            "regex(., '^[0-9]+$')",
            ". != 3",
            "string-length(.) <= -1",
        ] {
            assert!(
                constraint_rules(unsupported, Count).is_err(),
                "{unsupported}"
            );
        }
    }

    #[test]
    fn decimal_constraints_keep_their_decimals_and_strictness() {
        use QuestionType::{Count, Decimal};
        assert_eq!(
            constraint_rules(". >= 0.5 and . <= 250", Decimal).unwrap(),
            [
                ConstraintRule::Min(Number::Decimal(0.5)),
                ConstraintRule::Max(Number::Integer(250))
            ]
        );
        assert_eq!(
            constraint_rules(". > 0 and 2.5 > .", Decimal).unwrap(),
            [
                ConstraintRule::MoreThan(Number::Integer(0)),
                ConstraintRule::LessThan(Number::Decimal(2.5))
            ],
            "no step of one on a decimal"
        );
        assert_eq!(
            constraint_rules(". = '1.25'", Decimal).unwrap(),
            [
                ConstraintRule::Min(Number::Decimal(1.25)),
                ConstraintRule::Max(Number::Decimal(1.25))
            ]
        );
        let error = constraint_rules(". >= 0.5", Count).unwrap_err();
        assert!(error.0.contains("0.5 is not a whole number"), "{}", error.0);
        for refused in [". >= 'inf'", ". >= 'NaN'", ". > 1e3", ". != 1.5"] {
            assert!(constraint_rules(refused, Decimal).is_err(), "{refused}");
        }
    }

    #[test]
    fn decimal_comparisons_translate_without_rounding() {
        use serde_json::json;
        assert_eq!(
            json("${distance} > 1.5"),
            json!({"more_than": {"question": "distance", "value": 1.5}})
        );
        assert_eq!(
            json("${distance} >= 2"),
            json!({"at_least": {"question": "distance", "value": 2}})
        );
        assert_eq!(
            json("${distance} < 0.25"),
            json!({"all": [{"answered": "distance"}, {"not": {"at_least": {"question": "distance", "value": 0.25}}}]})
        );
        assert_eq!(
            json("${distance} <= 0.25"),
            json!({"all": [{"answered": "distance"}, {"not": {"more_than": {"question": "distance", "value": 0.25}}}]})
        );
        assert_eq!(
            json("${distance} = '2.0'"),
            json!({"equals": {"question": "distance", "value": 2.0}})
        );
        assert_eq!(
            json("${distance} != 3"),
            json!({"not": {"equals": {"question": "distance", "value": 3}}})
        );
        for (input, reason) in [
            ("${distance} > 'far'", "'far' is not a number"),
            ("${distance} = 'inf'", "'inf' is not a number"),
            ("${agents} = 1.5", "1.5 is not a whole number"),
            ("${distance} > 1.2.3", "1.2.3 is not a number"),
        ] {
            let error = condition(input, &kinds).unwrap_err();
            assert!(error.0.contains(reason), "{input}: {}", error.0);
        }
    }

    #[test]
    fn written_conditions_read_back_the_same() {
        let conditions: Vec<Condition> = serde_json::from_value(serde_json::json!([
            {"answered": "notes"},
            {"equals": {"question": "present", "value": "yes"}},
            {"equals": {"question": "agents", "value": 4}},
            {"not_equals": {"question": "present", "value": "no"}},
            {"selected": {"question": "agencies", "value": "o'brien"}},
            {"at_least": {"question": "agents", "value": 2}},
            {"at_least": {"question": "agencies", "value": 3}},
            {"equals": {"question": "distance", "value": 2.0}},
            {"equals": {"question": "distance", "value": 2}},
            {"at_least": {"question": "distance", "value": 0.1}},
            {"more_than": {"question": "distance", "value": -1.5}},
            {"not": {"more_than": {"question": "distance", "value": 1e-7}}},
            {"all": [{"equals": {"question": "present", "value": "yes"}},
                     {"any": [{"selected": {"question": "agencies", "value": "cbp"}}, {"answered": "notes"}]},
                     {"not": {"all": [{"answered": "notes"}, {"answered": "agents"}]}}]}
        ]))
        .unwrap();
        for original in conditions {
            let written = write_condition(&original, &kinds);
            assert_eq!(condition(&written, &kinds).unwrap(), original, "{written}");
        }
        let rules = [
            ConstraintRule::Min(Number::Integer(-3)),
            ConstraintRule::Max(Number::Integer(9)),
        ];
        let written = write_constraint(&rules);
        assert_eq!(
            constraint_rules(&written, QuestionType::Count).unwrap(),
            rules
        );
        let rules = [
            ConstraintRule::Min(Number::Decimal(2.0)),
            ConstraintRule::MoreThan(Number::Decimal(0.1)),
            ConstraintRule::LessThan(Number::Integer(10)),
            ConstraintRule::Max(Number::Decimal(9.75)),
        ];
        let written = write_constraint(&rules);
        assert_eq!(written, ". >= 2.0 and . > 0.1 and . < 10 and . <= 9.75");
        assert_eq!(
            constraint_rules(&written, QuestionType::Decimal).unwrap(),
            rules
        );
        let length = [ConstraintRule::MaxLength(20)];
        assert_eq!(
            constraint_rules(&write_constraint(&length), QuestionType::Text).unwrap(),
            length
        );
    }
}
