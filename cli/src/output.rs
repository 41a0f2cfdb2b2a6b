//! How the command speaks: readable, coloured lines on a terminal; one JSON document
//! per command with `--json`, for scripts. Colours switch off by themselves when
//! output is not a terminal.

use console::style;
use serde::Serialize;

#[derive(Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// A heading for a part of a longer account (the demo's steps).
    pub fn step(&self, text: impl std::fmt::Display) {
        if !self.json {
            println!("\n{} {}", style("▸").cyan().bold(), style(text).bold());
        }
    }

    /// A line of human output; nothing in JSON mode.
    pub fn line(&self, text: impl std::fmt::Display) {
        if !self.json {
            println!("  {text}");
        }
    }

    pub fn ok(&self, text: impl std::fmt::Display) {
        if !self.json {
            println!("  {} {text}", style("✓").green().bold());
        }
    }

    pub fn warn(&self, text: impl std::fmt::Display) {
        if !self.json {
            println!("  {} {text}", style("!").yellow().bold());
        }
    }

    /// The command's result: printed as JSON in JSON mode, or by `human` otherwise.
    pub fn result<T: Serialize>(&self, value: &T, human: impl FnOnce(&T)) -> anyhow::Result<()> {
        if self.json {
            println!("{}", serde_json::to_string_pretty(value)?);
        } else {
            human(value);
        }
        Ok(())
    }
}

pub fn dim(text: impl std::fmt::Display) -> String {
    style(text).dim().to_string()
}

pub fn bold(text: impl std::fmt::Display) -> String {
    style(text).bold().to_string()
}

/// A status word in a colour that says how urgent it is.
pub fn status(text: &str) -> String {
    match text {
        "disputed" => style(text).red().bold().to_string(),
        "confirmed" | "caller_notified" => style(text).green().to_string(),
        "proposed" | "on_scene" => style(text).yellow().to_string(),
        _ => style(text).cyan().to_string(),
    }
}
