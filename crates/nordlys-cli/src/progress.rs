//! Progress display: an indicatif bar on a terminal, a plain line every few seconds otherwise.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use nordlys_app::Progress;

pub fn for_stderr() -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(Bar(ProgressBar::hidden()))
    } else {
        Arc::new(Lines::default())
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn start(&self, label: &str, total: Option<u64>) {
        let style = match total {
            Some(_) => ProgressStyle::with_template(
                "{msg} [{bar:40}] {percent:>3}% {bytes_per_sec} eta {eta}",
            ),
            None => ProgressStyle::with_template("{msg} {pos} {per_sec}"),
        };
        self.0
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        self.0.set_style(
            style
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        self.0.set_length(total.unwrap_or(0));
        self.0.set_position(0);
        self.0.set_message(label.to_owned());
    }
    fn advance(&self, done: u64) {
        self.0.inc(done);
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

#[derive(Default)]
struct Lines(Mutex<LineState>);

#[derive(Default)]
struct LineState {
    label: String,
    total: Option<u64>,
    done: u64,
    last_print: Option<Instant>,
}

impl Progress for Lines {
    fn start(&self, label: &str, total: Option<u64>) {
        if let Ok(mut s) = self.0.lock() {
            *s = LineState {
                label: label.to_owned(),
                total,
                done: 0,
                last_print: Some(Instant::now()),
            };
        }
    }
    fn advance(&self, done: u64) {
        if let Ok(mut s) = self.0.lock() {
            s.done += done;
            if s.last_print
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(5))
            {
                s.last_print = Some(Instant::now());
                match s.total {
                    Some(total) if total > 0 => {
                        eprintln!(
                            "{}: {}% ({} of {})",
                            s.label,
                            s.done * 100 / total,
                            s.done,
                            total
                        )
                    }
                    _ => eprintln!("{}: {}", s.label, s.done),
                }
            }
        }
    }
    fn finish(&self) {}
}
