//! Standard output and standard error of every command. The crate's `println!` and `eprintln!`
//! (defined atop `main.rs`) write through [`write_line`] and [`write_note`], which never panic;
//! [`Stdout`] is the writer for streamed output (exports). When the reader has gone
//! (`nordlys invoices list | head -1`, EPIPE) the rest of the output is dropped, the command
//! finishes what it was doing, and the process ends quietly with exit 0; any other write error
//! is reported at the end (exit 1). A closed standard error drops the line: nobody is left to
//! tell.

use std::io::{ErrorKind, Write};
use std::sync::Mutex;

/// The first error writing to standard output, if any: its kind and message.
static STDOUT_ERROR: Mutex<Option<(ErrorKind, String)>> = Mutex::new(None);

fn record(error: &std::io::Error) {
    if let Ok(mut failed) = STDOUT_ERROR.lock()
        && failed.is_none()
    {
        *failed = Some((error.kind(), error.to_string()));
    }
}

fn failed() -> bool {
    STDOUT_ERROR.lock().map_or(true, |failed| failed.is_some())
}

/// Write one line to standard error; if that fails there is no channel left to report on.
pub(crate) fn write_note(line: std::fmt::Arguments<'_>) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Write one line to standard output, unless it has already failed.
pub(crate) fn write_line(line: std::fmt::Arguments<'_>) {
    if failed() {
        return;
    }
    if let Err(error) = writeln!(std::io::stdout().lock(), "{line}") {
        record(&error);
    }
}

/// Standard output as a writer: errors are returned, and remembered for [`finish`].
pub(crate) struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        std::io::stdout().lock().write(buf).inspect_err(record)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stdout().lock().flush().inspect_err(record)
    }
}

/// Whether the reader of standard output has gone (EPIPE).
pub(crate) fn reader_gone() -> bool {
    STDOUT_ERROR
        .lock()
        .is_ok_and(|failed| matches!(&*failed, Some((ErrorKind::BrokenPipe, _))))
}

/// Whether `error` is the command stopping because the reader of standard output has gone:
/// then the process ends quietly, as `cat` does.
pub(crate) fn stopped_by_closed_stdout(error: &anyhow::Error) -> bool {
    reader_gone()
        && error.chain().any(|cause| {
            cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|e| e.kind() == ErrorKind::BrokenPipe)
        })
}

/// Flush standard output once the command is done. `Err` names a write error other than a
/// closed pipe.
pub(crate) fn finish() -> Result<(), String> {
    if let Err(error) = std::io::stdout().lock().flush() {
        record(&error);
    }
    match STDOUT_ERROR.lock().ok().and_then(|failed| failed.clone()) {
        None | Some((ErrorKind::BrokenPipe, _)) => Ok(()),
        Some((_, message)) => Err(message),
    }
}
