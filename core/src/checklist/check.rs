//! The template check. A template comes from a coordinator's editor, a spreadsheet or
//! a peer, so it is checked as a whole before anything runs it: every problem is
//! reported at once, each naming its place (`question "agents_count": constraint: min
//! 5 is greater than max 2`), so the author can fix them in one pass.
//!
//! Only a template that passes becomes a [`CheckedTemplate`], the one type the engine,
//! the combined view and the registry accept: nothing downstream has to cope with a
//! cycle in skip logic or a comparison with a choice that does not exist.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};

use serde::Serialize;

use super::number::Number;
use super::relevance::{Condition, Literal, Test};
use super::template::{ConstraintRule, Question, QuestionType, Template};
use super::text::{Text, EXPECTED_LOCALES, FALLBACK_LOCALE};
use crate::error::{Error, Result};
use crate::incident::TemplateRef;

/// Templates larger than this are refused before parsing: the default one is about 20 kB.
pub const MAX_TEMPLATE_BYTES: usize = 1 << 20;

/// What the check found. Errors make the template unusable; warnings (a missing
/// translation, shown in English instead) do not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl CheckReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

/// Checks a template and reports every problem, without keeping it.
pub fn check_template(template: &Template) -> CheckReport {
    analyse(template).0
}

/// A template that passed the check, with what the engine needs precomputed.
#[derive(Clone, Debug, PartialEq)]
pub struct CheckedTemplate {
    template: Template,
    warnings: Vec<String>,
    /// (section, question) of each question, in template order.
    positions: Vec<(usize, usize)>,
    index: HashMap<String, usize>,
    /// Question numbers (as in `positions`) ordered so that every question comes after
    /// the questions its relevance reads.
    order: Vec<usize>,
}

impl CheckedTemplate {
    /// Checks `template`; fails with [`Error::InvalidTemplate`] listing every error.
    pub fn new(template: Template) -> Result<Self> {
        let (report, order) = analyse(&template);
        let order = match order {
            Some(order) if report.is_ok() => order,
            _ => return Err(Error::InvalidTemplate(report.errors)),
        };
        let positions: Vec<(usize, usize)> = template
            .sections
            .iter()
            .enumerate()
            .flat_map(|(s, section)| (0..section.questions.len()).map(move |q| (s, q)))
            .collect();
        let index = template
            .questions()
            .enumerate()
            .map(|(i, q)| (q.id.clone(), i))
            .collect();
        Ok(Self {
            template,
            warnings: report.warnings,
            positions,
            index,
            order,
        })
    }

    /// Parses and checks a template received as JSON.
    pub fn from_json(json: &str) -> Result<Self> {
        if json.len() > MAX_TEMPLATE_BYTES {
            return Err(Error::InvalidTemplate(vec![format!(
                "template: larger than {MAX_TEMPLATE_BYTES} bytes"
            )]));
        }
        let template: Template = serde_json::from_str(json)
            .map_err(|e| Error::InvalidTemplate(vec![format!("template: {e}")]))?;
        Self::new(template)
    }

    pub fn template(&self) -> &Template {
        &self.template
    }

    /// What an incident records to find this exact version again.
    pub fn template_ref(&self) -> TemplateRef {
        TemplateRef {
            id: self.template.id.clone(),
            version: self.template.version,
        }
    }

    /// Missing translations; the template works, showing English in their place.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The question a check-in (`CheckIn`) or check-out (`CheckOut`) answers: the
    /// template's first checkpoint question is the arrival, its last one, when there
    /// are two or more, the departure. Checking in or out is that checkpoint, so a
    /// volunteer never records the same arrival twice.
    pub fn checkpoint_question(&self, kind: crate::incident::CheckpointKind) -> Option<&Question> {
        let mut checkpoints = self
            .template
            .questions()
            .filter(|q| q.kind == QuestionType::Checkpoint);
        let first = checkpoints.next();
        match kind {
            crate::incident::CheckpointKind::CheckIn => first,
            crate::incident::CheckpointKind::CheckOut => checkpoints.last(),
        }
    }

    pub fn question(&self, id: &str) -> Option<&Question> {
        self.index.get(id).map(|&i| self.nth(i))
    }

    /// Number of questions in the template.
    pub(crate) fn len(&self) -> usize {
        self.positions.len()
    }

    /// The `i`-th question in template order. `i` comes from this template's own
    /// `index` or `order`, so it is always in range.
    pub(crate) fn nth(&self, i: usize) -> &Question {
        let (s, q) = self.positions[i];
        &self.template.sections[s].questions[q]
    }

    pub(crate) fn position(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    pub(crate) fn evaluation_order(&self) -> &[usize] {
        &self.order
    }
}

/// The report, and the evaluation order when skip logic has no cycle.
fn analyse(template: &Template) -> (CheckReport, Option<Vec<usize>>) {
    let mut checker = Checker::new(template);
    checker.check_header();
    checker.check_sections();
    checker.check_questions();
    checker.check_rules();
    let order = checker.check_cycles();
    checker.check_texts();
    (
        CheckReport {
            errors: checker.errors,
            warnings: checker.warnings,
        },
        order,
    )
}

struct Checker<'t> {
    template: &'t Template,
    /// Questions by id; with duplicates, the first one.
    questions: HashMap<&'t str, &'t Question>,
    /// Every text, with its place, checked for translations once all locales are known.
    texts: Vec<(String, &'t Text)>,
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl<'t> Checker<'t> {
    fn new(template: &'t Template) -> Self {
        let mut questions = HashMap::new();
        for question in template.questions() {
            questions.entry(question.id.as_str()).or_insert(question);
        }
        Self {
            template,
            questions,
            texts: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    fn error(&mut self, place: &str, problem: impl std::fmt::Display) {
        self.errors.push(format!("{place}: {problem}"));
    }

    fn text(&mut self, place: String, text: &'t Text) {
        self.texts.push((place, text));
    }

    fn check_id(&mut self, place: &str, what: &str, id: &str) {
        if !is_valid_id(id) {
            self.error(
                place,
                format_args!("{what} {id:?} must be 1–64 letters, digits, _ or -"),
            );
        }
    }

    fn check_header(&mut self) {
        let t = self.template;
        self.check_id("template", "id", &t.id);
        if t.version == 0 {
            self.error("template", "version must be 1 or more");
        }
        self.text("template: title".into(), &t.title);
        if let Some(description) = &t.description {
            self.text("template: description".into(), description);
        }
    }

    fn check_sections(&mut self) {
        let t = self.template;
        if t.questions().next().is_none() {
            self.error("template", "has no questions");
        }
        let mut seen = HashSet::new();
        for section in &t.sections {
            let place = format!("section {:?}", section.id);
            self.check_id(&place, "id", &section.id);
            if !seen.insert(section.id.as_str()) {
                self.error(&place, "duplicate section id");
            }
            if section.questions.is_empty() {
                self.error(&place, "has no questions");
            }
            self.text(format!("{place}: title"), &section.title);
        }
    }

    fn check_questions(&mut self) {
        let mut seen = HashSet::new();
        for question in self.template.questions() {
            let place = format!("question {:?}", question.id);
            self.check_id(&place, "id", &question.id);
            if !seen.insert(question.id.as_str()) {
                self.error(&place, "duplicate question id");
            }
            self.text(format!("{place}: label"), &question.label);
            if let Some(hint) = &question.hint {
                self.text(format!("{place}: hint"), hint);
            }
            self.check_choices(&place, question);
            self.check_constraints(&place, question);
            if let Some(relevance) = &question.relevance {
                self.check_condition(&format!("{place}: relevance"), relevance);
            }
        }
    }

    fn check_choices(&mut self, place: &str, question: &'t Question) {
        let kind = question.kind;
        if !kind.has_choices() {
            if !question.choices.is_empty() {
                self.error(
                    place,
                    format_args!("a {} question cannot have choices", kind.as_str()),
                );
            }
            return;
        }
        if question.choices.is_empty() {
            self.error(
                place,
                format_args!("a {} question needs choices", kind.as_str()),
            );
        }
        let mut seen = HashSet::new();
        for choice in &question.choices {
            let choice_place = format!("{place}: choice {:?}", choice.value);
            self.check_id(&choice_place, "value", &choice.value);
            if !seen.insert(choice.value.as_str()) {
                self.error(&choice_place, "duplicate choice value");
            }
            self.text(format!("{choice_place}: label"), &choice.label);
        }
    }

    fn check_constraints(&mut self, place: &str, question: &'t Question) {
        let (mut lower, mut upper) = (None::<Bound>, None::<Bound>);
        let (mut min_selected, mut max_selected) = (None::<u32>, None::<u32>);
        for (n, constraint) in question.constraints.iter().enumerate() {
            let rule = constraint.rule;
            let constraint_place = format!("{place}: constraint {}", n + 1);
            if !rule.applies_to(question.kind) {
                self.error(
                    &constraint_place,
                    format_args!(
                        "{} applies to {} questions, not {}",
                        rule.name(),
                        rule.applies_to_names(),
                        question.kind.as_str()
                    ),
                );
            }
            match rule {
                ConstraintRule::Min(v)
                | ConstraintRule::Max(v)
                | ConstraintRule::MoreThan(v)
                | ConstraintRule::LessThan(v) => {
                    let bound = Bound {
                        rule: rule.name(),
                        value: v,
                        strict: matches!(
                            rule,
                            ConstraintRule::MoreThan(_) | ConstraintRule::LessThan(_)
                        ),
                    };
                    if let Some(problem) = number_problem(question.kind, v) {
                        self.error(
                            &constraint_place,
                            format_args!("{} {v} {problem}", rule.name()),
                        );
                    } else if matches!(rule, ConstraintRule::Min(_) | ConstraintRule::MoreThan(_)) {
                        lower = Some(bound.tighter(lower, Ordering::Greater));
                    } else {
                        upper = Some(bound.tighter(upper, Ordering::Less));
                    }
                }
                ConstraintRule::MinSelected(v) => {
                    min_selected = Some(min_selected.map_or(v, |m| m.max(v)))
                }
                ConstraintRule::MaxSelected(v) => {
                    max_selected = Some(max_selected.map_or(v, |m| m.min(v)))
                }
                ConstraintRule::MaxLength(_) => {}
            }
            self.text(format!("{constraint_place}: message"), &constraint.message);
        }
        if let (Some(low), Some(high)) = (lower, upper) {
            let order = low.value.compare(high.value);
            let empty = order == Some(Ordering::Greater)
                || (order == Some(Ordering::Equal) && (low.strict || high.strict));
            if empty {
                let (a, b) = (low.value, high.value);
                let problem = if low.strict || high.strict {
                    format!("{} {a} and {} {b} leave no answer", low.rule, high.rule)
                } else {
                    format!("min {a} is greater than max {b}")
                };
                self.error(place, format_args!("constraint: {problem}"));
            }
        }
        if let (Some(min), Some(max)) = (min_selected, max_selected) {
            if min > max {
                self.error(
                    place,
                    format_args!(
                        "constraint: min_selected {min} is greater than max_selected {max}"
                    ),
                );
            }
        }
    }

    /// Every comparison must read a question that exists, with a test and a value that
    /// suit that question's type.
    fn check_condition(&mut self, place: &str, condition: &'t Condition) {
        if condition.has_empty_list() {
            self.error(place, "an empty \"all\" or \"any\" list");
        }
        for comparison in condition.comparisons() {
            let name = comparison.question;
            let Some(target) = self.questions.get(name).copied() else {
                self.error(place, format_args!("refers to unknown question {name:?}"));
                continue;
            };
            let kind = target.kind;
            let problem = match comparison.test {
                Test::Answered => None,
                Test::Equals(literal) => equals_problem(target, literal),
                Test::Selected(_) if !kind.has_choices() => {
                    Some(format!("\"selected\" needs a choice question, but {name:?} is {}", kind.as_str()))
                }
                Test::Selected(value) => {
                    target.choice(value).is_none().then(|| format!("{value:?} is not one of the choices of {name:?}"))
                }
                Test::Bound(test, _) if !kind.is_number() && kind != QuestionType::MultipleChoice => {
                    Some(format!("\"{test}\" needs a count, decimal or multiple_choice question, but {name:?} is {}", kind.as_str()))
                }
                Test::Bound(test, value) => number_problem(kind, value)
                    .map(|problem| format!("\"{test}\" on {name:?}: {value} {problem}")),
            };
            if let Some(problem) = problem {
                self.error(place, problem);
            }
        }
    }

    fn check_rules(&mut self) {
        let mut seen = HashSet::new();
        for rule in &self.template.determination_rules {
            let place = format!("rule {:?}", rule.id);
            self.check_id(&place, "id", &rule.id);
            if !seen.insert(rule.id.as_str()) {
                self.error(&place, "duplicate rule id");
            }
            self.check_condition(&format!("{place}: when"), &rule.when);
            self.text(format!("{place}: reason"), &rule.reason);
        }
    }

    /// Skip logic must not go round in circles (a question shown only when a question
    /// shown only when it is answered can never appear). Kahn's algorithm gives the
    /// evaluation order; what it cannot order holds a cycle, which is then walked to
    /// name it. Iterative, so a huge hostile template cannot overflow the stack.
    fn check_cycles(&mut self) -> Option<Vec<usize>> {
        let questions: Vec<&Question> = self.template.questions().collect();
        let first_index: HashMap<&str, usize> = questions
            .iter()
            .enumerate()
            .rev()
            .map(|(i, q)| (q.id.as_str(), i))
            .collect();
        let depends_on: Vec<Vec<usize>> = questions
            .iter()
            .map(|q| {
                let mut deps: Vec<usize> = q
                    .relevance
                    .iter()
                    .flat_map(Condition::comparisons)
                    .filter_map(|c| first_index.get(c.question).copied())
                    .collect();
                deps.sort_unstable();
                deps.dedup();
                deps
            })
            .collect();

        let mut dependents = vec![Vec::new(); questions.len()];
        for (q, deps) in depends_on.iter().enumerate() {
            for &d in deps {
                dependents[d].push(q);
            }
        }
        let mut waiting: Vec<usize> = depends_on.iter().map(Vec::len).collect();
        let mut ready: Vec<usize> = (0..questions.len())
            .rev()
            .filter(|&q| waiting[q] == 0)
            .collect();
        let mut order = Vec::with_capacity(questions.len());
        while let Some(q) = ready.pop() {
            order.push(q);
            for &dependent in &dependents[q] {
                waiting[dependent] -= 1;
                if waiting[dependent] == 0 {
                    ready.push(dependent);
                }
            }
        }
        if order.len() == questions.len() {
            return Some(order);
        }

        // Every question left waits on another one left, so walking from any of them
        // along such dependencies must come back to a question already on the walk.
        let stuck: Vec<bool> = waiting.iter().map(|&w| w > 0).collect();
        let mut walked = vec![false; questions.len()];
        for start in 0..questions.len() {
            if !stuck[start] || walked[start] {
                continue;
            }
            let mut path = Vec::new();
            let mut on_path = HashMap::new();
            let mut q = start;
            let cycle_start = loop {
                if let Some(&from) = on_path.get(&q) {
                    break Some(from);
                }
                if walked[q] {
                    break None;
                }
                walked[q] = true;
                on_path.insert(q, path.len());
                path.push(q);
                match depends_on[q].iter().find(|&&d| stuck[d]) {
                    Some(&next) => q = next,
                    None => break None,
                }
            };
            if let Some(from) = cycle_start {
                self.report_cycle(&questions, &path[from..]);
            }
        }
        None
    }

    fn report_cycle(&mut self, questions: &[&Question], cycle: &[usize]) {
        let Some(first) = (0..cycle.len()).min_by_key(|&i| cycle[i]) else {
            return;
        };
        let id = |q: usize| questions[q].id.as_str();
        let place = format!("question {:?}: relevance", id(cycle[first]));
        if cycle.len() == 1 {
            self.error(&place, "depends on itself");
            return;
        }
        // The walk followed "depends on"; read it from the first question onwards.
        let names: Vec<&str> = cycle[first..]
            .iter()
            .chain(&cycle[..first])
            .map(|&q| id(q))
            .collect();
        self.error(
            &place,
            format_args!("forms a cycle {} → {}", names.join(" → "), names[0]),
        );
    }

    /// English is required everywhere; any other locale the template uses, and every
    /// expected one, should be complete too.
    fn check_texts(&mut self) {
        let mut locales: BTreeSet<&str> = EXPECTED_LOCALES.into_iter().collect();
        for (_, text) in &self.texts {
            locales.extend(text.locales());
        }
        locales.remove(FALLBACK_LOCALE);
        let texts = std::mem::take(&mut self.texts);
        for (place, text) in &texts {
            if !text.has(FALLBACK_LOCALE) {
                self.error(place, "no English (\"en\") text");
            }
            for locale in &locales {
                if !text.has(locale) {
                    self.warnings.push(format!(
                        "{place}: no {locale:?} translation; English is shown"
                    ));
                }
            }
        }
    }
}

/// What is wrong, if anything, with comparing `target`'s answer to `literal`.
fn equals_problem(target: &Question, literal: &Literal) -> Option<String> {
    let name = &target.id;
    let kind = target.kind.as_str();
    match (target.kind, literal) {
        (QuestionType::YesNoUnknown, Literal::Text(v))
            if ["yes", "no", "unknown"].contains(&v.as_str()) =>
        {
            None
        }
        (QuestionType::YesNoUnknown, _) => Some(format!(
            "compares {name:?} with {}, which is not yes, no or unknown",
            show(literal)
        )),
        (QuestionType::SingleChoice, Literal::Text(v)) if target.choice(v).is_some() => None,
        (QuestionType::SingleChoice, _) => Some(format!(
            "compares {name:?} with {}, which is not one of its choices",
            show(literal)
        )),
        (QuestionType::Text, Literal::Text(_)) => None,
        (
            QuestionType::Count | QuestionType::Decimal,
            Literal::Integer(_) | Literal::Decimal(_),
        ) => {
            let number = literal.number()?;
            number_problem(target.kind, number).map(|problem| {
                format!("compares {kind} question {name:?} with {number}, which {problem}")
            })
        }
        (QuestionType::Count | QuestionType::Decimal | QuestionType::Text, _) => Some(format!(
            "compares {kind} question {name:?} with {}",
            show(literal)
        )),
        (QuestionType::MultipleChoice, _) => Some(format!(
            "{name:?} is multiple_choice: test it with \"selected\" or \"at_least\""
        )),
        (QuestionType::Location | QuestionType::Time | QuestionType::Checkpoint, _) => Some(
            format!("a {kind} answer cannot be compared; test {name:?} with \"answered\""),
        ),
    }
}

fn show(literal: &Literal) -> String {
    match literal {
        Literal::Text(t) => format!("{t:?}"),
        Literal::Integer(n) => format!("the number {n}"),
        Literal::Decimal(x) => format!("the number {}", Number::Decimal(*x)),
    }
}

/// One end of the answers a question's constraints allow.
#[derive(Clone, Copy)]
struct Bound {
    rule: &'static str,
    value: Number,
    /// `more_than` / `less_than`: the value itself is not allowed.
    strict: bool,
}

impl Bound {
    /// Whichever of `self` and `current` allows less: the one further `inward`
    /// (greater for a lower bound, less for an upper one), or the strict one of two
    /// at the same value.
    fn tighter(self, current: Option<Bound>, inward: Ordering) -> Bound {
        match current {
            None => self,
            Some(current) => match self.value.compare(current.value) {
                Some(order) if order == inward => self,
                Some(Ordering::Equal) if self.strict && !current.strict => self,
                _ => current,
            },
        }
    }
}

/// What is wrong, if anything, with `number` as a bound or a compared value of a
/// `kind` question: the one rule for numbers in a template. Counts and selections are
/// whole; nothing is NaN or infinite (JSON cannot write them, but a template built in
/// code could hold them, and they would compare with nothing).
fn number_problem(kind: QuestionType, number: Number) -> Option<&'static str> {
    if !number.is_finite() {
        Some("is not a finite number")
    } else if kind != QuestionType::Decimal && !number.is_whole() {
        Some("is not a whole number")
    } else {
        None
    }
}

/// The rule for every id a template defines, the same one the incident document
/// applies to question ids.
fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn text(en: &str) -> Value {
        json!({"en": en, "es": format!("{en} (es)")})
    }

    /// A small sound template that each test breaks in one way.
    fn base() -> Value {
        json!({
            "id": "t", "version": 1, "title": text("T"),
            "sections": [
                {"id": "scene", "title": text("Scene"), "questions": [
                    {"id": "present", "type": "yes_no_unknown", "required": true, "label": text("Present?")},
                    {"id": "agency", "type": "single_choice", "label": text("Agency"),
                     "relevance": {"equals": {"question": "present", "value": "yes"}},
                     "choices": [{"value": "ice", "label": text("ICE")}, {"value": "cbp", "label": text("CBP")}]},
                    {"id": "agents", "type": "count", "label": text("Agents"),
                     "constraints": [{"rule": {"min": 0}, "message": text("Zero or more")}]}
                ]},
                {"id": "end", "title": text("End"), "questions": [
                    {"id": "notes", "type": "text", "label": text("Notes")}
                ]}
            ],
            "determination_rules": [
                {"id": "seen", "when": {"equals": {"question": "present", "value": "yes"}},
                 "determination": "verified", "confidence": "medium", "reason": text("Seen")}
            ]
        })
    }

    fn report(template: Value) -> CheckReport {
        check_template(&serde_json::from_value(template).expect("test templates parse"))
    }

    fn errors(template: Value) -> Vec<String> {
        report(template).errors
    }

    /// Sets (or adds) the field at a JSON pointer.
    fn set(template: &mut Value, pointer: &str, value: Value) {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        match template
            .pointer_mut(parent)
            .unwrap_or_else(|| panic!("no {parent}"))
        {
            Value::Object(map) => {
                map.insert(key.to_owned(), value);
            }
            Value::Array(items) => items[key.parse::<usize>().unwrap()] = value,
            other => panic!("{parent} is {other}"),
        }
    }

    fn add_question(template: &mut Value, question: Value) {
        template
            .pointer_mut("/sections/1/questions")
            .and_then(Value::as_array_mut)
            .unwrap()
            .push(question);
    }

    #[test]
    fn the_base_template_is_sound() {
        let report = report(base());
        assert_eq!(report, CheckReport::default());
        let checked = CheckedTemplate::new(serde_json::from_value(base()).unwrap()).unwrap();
        assert_eq!(
            checked.template_ref(),
            TemplateRef {
                id: "t".into(),
                version: 1
            }
        );
        assert_eq!(
            checked.question("agents").map(|q| q.kind),
            Some(QuestionType::Count)
        );
    }

    #[test]
    fn duplicate_ids_are_named() {
        let mut t = base();
        set(&mut t, "/sections/1/id", json!("scene"));
        set(&mut t, "/sections/1/questions/0/id", json!("present"));
        set(
            &mut t,
            "/sections/0/questions/1/choices/1/value",
            json!("ice"),
        );
        let rules = t["determination_rules"].clone();
        set(&mut t, "/determination_rules", json!([rules[0], rules[0]]));
        let errors = errors(t);
        for expected in [
            "section \"scene\": duplicate section id",
            "question \"present\": duplicate question id",
            "question \"agency\": choice \"ice\": duplicate choice value",
            "rule \"seen\": duplicate rule id",
        ] {
            assert!(
                errors.contains(&expected.to_owned()),
                "missing {expected:?} in {errors:#?}"
            );
        }
    }

    #[test]
    fn relevance_on_an_unknown_question_is_refused() {
        let mut t = base();
        set(
            &mut t,
            "/sections/0/questions/1/relevance",
            json!({"answered": "presence"}),
        );
        assert_eq!(
            errors(t),
            ["question \"agency\": relevance: refers to unknown question \"presence\""]
        );
    }

    #[test]
    fn relevance_cycles_are_refused_with_their_path() {
        let mut t = base();
        set(
            &mut t,
            "/sections/0/questions/0/relevance",
            json!({"not": {"answered": "notes"}}),
        );
        set(
            &mut t,
            "/sections/1/questions/0/relevance",
            json!({"any": [{"selected": {"question": "agency", "value": "ice"}}]}),
        );
        assert_eq!(
            errors(t),
            ["question \"present\": relevance: forms a cycle present → notes → agency → present"]
        );

        let mut t = base();
        set(
            &mut t,
            "/sections/0/questions/2/relevance",
            json!({"at_least": {"question": "agents", "value": 1}}),
        );
        assert_eq!(
            errors(t),
            ["question \"agents\": relevance: depends on itself"]
        );
    }

    #[test]
    fn a_question_that_only_depends_on_a_cycle_is_not_reported_as_one() {
        let mut t = base();
        set(
            &mut t,
            "/sections/0/questions/1/relevance",
            json!({"answered": "agents"}),
        );
        set(
            &mut t,
            "/sections/0/questions/2/relevance",
            json!({"answered": "agency"}),
        );
        set(
            &mut t,
            "/sections/1/questions/0/relevance",
            json!({"answered": "agency"}),
        );
        assert_eq!(
            errors(t),
            ["question \"agency\": relevance: forms a cycle agency → agents → agency"]
        );
    }

    #[test]
    fn comparisons_must_fit_the_question() {
        let mut t = base();
        set(
            &mut t,
            "/sections/0/questions/1/relevance",
            json!({"equals": {"question": "present", "value": "maybe"}}),
        );
        set(
            &mut t,
            "/sections/0/questions/2/relevance",
            json!({"all": [
                {"selected": {"question": "agency", "value": "hsi"}},
                {"equals": {"question": "agency", "value": "fbi"}},
                {"at_least": {"question": "present", "value": 1}},
                {"selected": {"question": "present", "value": "yes"}}
            ]}),
        );
        set(
            &mut t,
            "/sections/1/questions/0/relevance",
            json!({"any": []}),
        );
        set(
            &mut t,
            "/determination_rules/0/when",
            json!({"equals": {"question": "agents", "value": "three"}}),
        );
        assert_eq!(
            errors(t),
            [
                "question \"agency\": relevance: compares \"present\" with \"maybe\", which is not yes, no or unknown",
                "question \"agents\": relevance: \"hsi\" is not one of the choices of \"agency\"",
                "question \"agents\": relevance: compares \"agency\" with \"fbi\", which is not one of its choices",
                "question \"agents\": relevance: \"at_least\" needs a count, decimal or multiple_choice question, but \"present\" is yes_no_unknown",
                "question \"agents\": relevance: \"selected\" needs a choice question, but \"present\" is yes_no_unknown",
                "question \"notes\": relevance: an empty \"all\" or \"any\" list",
                "rule \"seen\": when: compares count question \"agents\" with \"three\"",
            ]
        );
    }

    #[test]
    fn constraints_must_fit_the_question_type() {
        let mut t = base();
        set(
            &mut t,
            "/sections/1/questions/0/constraints",
            json!([{"rule": {"min": 1}, "message": text("At least one")}]),
        );
        set(
            &mut t,
            "/sections/0/questions/2/constraints",
            json!([
                {"rule": {"min": 5}, "message": text("Five or more")},
                {"rule": {"max": 2}, "message": text("Two or fewer")}
            ]),
        );
        assert_eq!(
            errors(t),
            [
                "question \"agents\": constraint: min 5 is greater than max 2",
                "question \"notes\": constraint 1: min applies to count or decimal questions, not text",
            ]
        );
    }

    #[test]
    fn choices_belong_to_choice_questions_only() {
        let mut t = base();
        set(&mut t, "/sections/0/questions/1/choices", json!([]));
        set(
            &mut t,
            "/sections/0/questions/1/relevance",
            json!({"answered": "present"}),
        );
        set(
            &mut t,
            "/sections/1/questions/0/choices",
            json!([{"value": "a", "label": text("A")}]),
        );
        assert_eq!(
            errors(t),
            [
                "question \"agency\": a single_choice question needs choices",
                "question \"notes\": a text question cannot have choices"
            ]
        );
    }

    #[test]
    fn ids_and_header_are_checked() {
        let mut t = base();
        set(&mut t, "/id", json!("field verification"));
        set(&mut t, "/version", json!(0));
        set(&mut t, "/sections/1/questions/0/id", json!(""));
        assert_eq!(
            errors(t),
            [
                "template: id \"field verification\" must be 1–64 letters, digits, _ or -",
                "template: version must be 1 or more",
                "question \"\": id \"\" must be 1–64 letters, digits, _ or -",
            ]
        );
        let mut t = base();
        set(&mut t, "/sections", json!([]));
        set(&mut t, "/determination_rules", json!([]));
        assert_eq!(errors(t), ["template: has no questions"]);
    }

    #[test]
    fn missing_english_is_an_error_missing_spanish_a_warning() {
        let mut t = base();
        set(
            &mut t,
            "/sections/0/questions/1/choices/1/label",
            json!({"es": "CBP"}),
        );
        set(
            &mut t,
            "/sections/0/questions/2/constraints/0/message",
            json!({"en": "Zero or more"}),
        );
        set(
            &mut t,
            "/sections/1/title",
            json!({"en": "End", "es": "  "}),
        );
        let report = report(t);
        assert_eq!(
            report.errors,
            ["question \"agency\": choice \"cbp\": label: no English (\"en\") text"]
        );
        assert_eq!(
            report.warnings,
            [
                "section \"end\": title: no \"es\" translation; English is shown",
                "question \"agents\": constraint 1: message: no \"es\" translation; English is shown",
            ]
        );
    }

    #[test]
    fn a_partial_extra_language_is_reported() {
        let mut t = base();
        set(&mut t, "/title", json!({"en": "T", "es": "T", "ht": "T"}));
        let report = report(t);
        assert!(report.is_ok());
        assert!(report.warnings.contains(
            &"question \"present\": label: no \"ht\" translation; English is shown".to_owned()
        ));
    }

    #[test]
    fn bad_json_is_an_invalid_template_naming_the_place() {
        let mut t = base();
        set(
            &mut t,
            "/sections/0/questions/0/relevence",
            json!({"answered": "agents"}),
        );
        let Err(Error::InvalidTemplate(errors)) = CheckedTemplate::from_json(&t.to_string()) else {
            panic!("a misspelt field must be refused");
        };
        assert!(
            errors[0].starts_with("template: unknown field `relevence`"),
            "{errors:?}"
        );
        assert!(matches!(
            CheckedTemplate::from_json("{"),
            Err(Error::InvalidTemplate(_))
        ));
        let huge = format!("{{\"id\": \"{}\"}}", "x".repeat(MAX_TEMPLATE_BYTES));
        assert!(
            matches!(CheckedTemplate::from_json(&huge), Err(Error::InvalidTemplate(e)) if e[0].contains("larger than"))
        );
    }

    #[test]
    fn a_failed_check_lists_every_error() {
        let mut t = base();
        set(&mut t, "/version", json!(0));
        set(
            &mut t,
            "/sections/1/questions/0/relevance",
            json!({"answered": "nothing"}),
        );
        let Err(Error::InvalidTemplate(errors)) =
            CheckedTemplate::new(serde_json::from_value(t).unwrap())
        else {
            panic!("an unsound template must be refused");
        };
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn evaluation_order_puts_each_question_after_what_it_reads() {
        let mut t = base();
        set(
            &mut t,
            "/sections/0/questions/0/relevance",
            json!({"answered": "notes"}),
        );
        add_question(
            &mut t,
            json!({"id": "late", "type": "text", "label": text("Late")}),
        );
        set(
            &mut t,
            "/sections/1/questions/0/relevance",
            json!({"answered": "late"}),
        );
        let checked = CheckedTemplate::new(serde_json::from_value(t).unwrap()).unwrap();
        let order: Vec<&str> = checked
            .evaluation_order()
            .iter()
            .map(|&i| checked.nth(i).id.as_str())
            .collect();
        let at = |id: &str| order.iter().position(|q| *q == id).unwrap();
        assert_eq!(order.len(), 5);
        assert!(
            at("late") < at("notes") && at("notes") < at("present") && at("present") < at("agency"),
            "{order:?}"
        );
    }

    #[test]
    fn numbers_must_suit_count_and_decimal_questions() {
        let mut t = base();
        add_question(
            &mut t,
            json!({"id": "distance", "type": "decimal", "label": text("Distance"),
            "constraints": [
                {"rule": {"min": 0.5}, "message": text("Half or more")},
                {"rule": {"less_than": 0.5}, "message": text("Under half")}
            ]}),
        );
        set(
            &mut t,
            "/sections/0/questions/2/constraints",
            json!([
                {"rule": {"max": 2.5}, "message": text("Two and a half at most")},
                {"rule": {"more_than": 1}, "message": text("More than one")}
            ]),
        );
        set(
            &mut t,
            "/sections/1/questions/0/relevance",
            json!({"all": [
                {"more_than": {"question": "distance", "value": 1.5}},
                {"equals": {"question": "distance", "value": 2}},
                {"at_least": {"question": "distance", "value": 0.25}},
                {"equals": {"question": "distance", "value": "far"}},
                {"at_least": {"question": "agents", "value": 1.5}},
                {"equals": {"question": "agents", "value": 2.5}},
                {"more_than": {"question": "present", "value": 1}}
            ]}),
        );
        let mut template: Template = serde_json::from_value(t).unwrap();
        let distance = template.sections[1].questions.last_mut().unwrap();
        let mut not_a_number = distance.constraints[0].clone();
        not_a_number.rule = ConstraintRule::Max(Number::Decimal(f64::NAN));
        distance.constraints.push(not_a_number);
        assert_eq!(
            check_template(&template).errors,
            [
                "question \"agents\": constraint 1: max 2.5 is not a whole number",
                "question \"agents\": constraint 2: more_than applies to decimal questions, not count",
                "question \"notes\": relevance: compares decimal question \"distance\" with \"far\"",
                "question \"notes\": relevance: \"at_least\" on \"agents\": 1.5 is not a whole number",
                "question \"notes\": relevance: compares count question \"agents\" with 2.5, which is not a whole number",
                "question \"notes\": relevance: \"more_than\" needs a count, decimal or multiple_choice question, but \"present\" is yes_no_unknown",
                "question \"distance\": constraint 3: max NaN is not a finite number",
                "question \"distance\": constraint: min 0.5 and less_than 0.5 leave no answer",
            ]
        );
    }
}
