//! How long-running work reports progress without knowing how it is shown
//! (a progress bar on a terminal, plain log lines otherwise, nothing in tests).

pub trait Progress: Send + Sync {
    /// The total amount of work (bytes of a file, rows to generate), if known.
    fn start(&self, label: &str, total: Option<u64>);
    /// `done` more units of work are finished.
    fn advance(&self, done: u64);
    fn finish(&self);
}

/// Shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _label: &str, _total: Option<u64>) {}
    fn advance(&self, _done: u64) {}
    fn finish(&self) {}
}
