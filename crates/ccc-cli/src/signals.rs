//! The signals a command-line tool must handle itself.
//!
//! **SIGPIPE**: Rust ignores it, so printing into a closed pipe (`ccc info FILE | head`) would be an error, and
//! `println!` panics on it. The handler is reset to the default, so `ccc` ends quietly like any Unix filter.
//!
//! **SIGBUS**: one clear line, instead of "Bus error", when a memory-mapped weight file cannot be read.
//! `ccc summarize` maps weight files into memory. If another process truncates or rewrites one meanwhile, touching
//! a page past its new end raises `SIGBUS`; so does a read error of the disk or network filesystem behind a mapped
//! page. No Rust code can turn that into an error value. The handler installed here writes the reason and exits
//! with status 1. Nothing is lost beyond the checkpoint in flight: a column is marked
//! filled only after its values are written and synced.

/// The message, written with one `write(2)` (no allocation, no locks: the handler may run at any point).
#[cfg(unix)]
const MESSAGE: &[u8] = b"error: a memory-mapped weight file could not be read (SIGBUS: truncated or replaced by \
another process while it was read, or an I/O error); the checkpoints already written are kept: run the same \
command again to finish, or pass --no-mmap to get the I/O error itself\n";

#[cfg(unix)]
extern "C" fn on_sigbus(_: libc::c_int) {
    // SAFETY: `write` and `_exit` are async-signal-safe; the buffer is static.
    unsafe {
        libc::write(libc::STDERR_FILENO, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::_exit(1);
    }
}

/// Install the handlers (process-wide; call from the binary only, before any thread starts).
pub fn install() {
    #[cfg(unix)]
    // SAFETY: restoring a default disposition; no handler runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    #[cfg(unix)]
    // SAFETY: a zeroed `sigaction` with a handler that only calls async-signal-safe functions.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigbus as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGBUS, &action, std::ptr::null_mut());
    }
}

/// Set by the first Ctrl-C (SIGINT) once [`cancel_on_ctrl_c`] has installed its handler.
static CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    use std::sync::atomic::Ordering;
    // The first Ctrl-C asks the command to stop and keep what it has; a second one ends the process at once.
    if CANCELLED.swap(true, Ordering::SeqCst) {
        // SAFETY: `_exit` is async-signal-safe.
        unsafe { libc::_exit(130) };
    }
}

/// A flag that the first Ctrl-C sets (a long command checks it, stops and writes what it has); a second Ctrl-C
/// exits at once with status 130.
pub fn cancel_on_ctrl_c() -> &'static std::sync::atomic::AtomicBool {
    #[cfg(unix)]
    // SAFETY: a zeroed `sigaction` whose handler only touches an atomic and calls `_exit`.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(libc::SIGINT, &action, std::ptr::null_mut());
    }
    &CANCELLED
}
