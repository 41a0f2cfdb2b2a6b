//! A spinner for work that waits on the network, on a terminal only.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Output;

pub fn spinner<T, E>(
    out: Output,
    message: &str,
    work: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    if out.json || !console::Term::stdout().is_term() {
        return work();
    }
    let bar = ProgressBar::new_spinner().with_message(message.to_owned());
    bar.set_style(
        ProgressStyle::with_template("  {spinner} {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    let result = work();
    bar.finish_and_clear();
    result
}
