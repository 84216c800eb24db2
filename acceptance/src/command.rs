//! Running one external process with a deadline, capturing stdout, stderr and both interleaved.
//!
//! Terraform writes diagnostics to stderr and results to stdout; a failure report needs both in the
//! order they appeared, while `show -json` needs stdout alone. Each stream is read by its own thread,
//! which appends every chunk to its buffer and to a shared combined buffer, so the combined text keeps
//! the chunk order.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::Error;

/// What one finished process printed, how it exited and how long it took.
#[derive(Clone, Debug)]
pub struct CommandOutput {
    /// The command line, program name first (for messages).
    pub command: String,
    /// The exit code, `None` when the process was killed by a signal.
    pub code: Option<i32>,
    /// Everything printed on stdout.
    pub stdout: String,
    /// Everything printed on stderr.
    pub stderr: String,
    /// stdout and stderr interleaved in arrival order.
    pub combined: String,
    /// Wall-clock time from spawn to exit.
    pub duration: Duration,
}

impl CommandOutput {
    /// True when the process exited with code 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The exit status as text, for messages.
    pub fn status_text(&self) -> String {
        match self.code {
            Some(code) => format!("code {code}"),
            None => "a signal".to_owned(),
        }
    }
}

/// The result of [`run`]: the output, or a timeout with what was printed before the kill.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The process exited on its own.
    Finished(CommandOutput),
    /// The process outlived the deadline and was killed.
    TimedOut(CommandOutput),
}

/// `ETXTBSY`: a freshly written executable is still open for writing in a forked child of another
/// thread. It clears as soon as that child execs, so spawning again shortly after succeeds.
const TEXT_FILE_BUSY: i32 = 26;

/// Spawns `cmd` with stdin closed and waits for it, killing it once `timeout` has passed.
pub(crate) fn run(cmd: &mut Command, command_line: &str, timeout: Duration) -> Result<Outcome, Error> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = spawn_retrying(cmd, command_line)?;

    let combined = Arc::new(Mutex::new(Vec::new()));
    let (done_tx, done_rx) = mpsc::channel();
    let stdout = child.stdout.take().map(|pipe| spawn_reader(pipe, Arc::clone(&combined), done_tx.clone()));
    let stderr = child.stderr.take().map(|pipe| spawn_reader(pipe, Arc::clone(&combined), done_tx.clone()));
    drop(done_tx);

    // Both pipes reach end-of-file when the process exits, so waiting for the readers is waiting
    // for the process, without polling.
    let deadline = started + timeout;
    let mut open_streams = usize::from(stdout.is_some()) + usize::from(stderr.is_some());
    let mut timed_out = false;
    while open_streams > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(left) {
            Ok(()) => open_streams -= 1,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }

    if timed_out {
        // Killing an already exited child fails harmlessly; nothing else to do about it.
        let _ = child.kill();
        // A grandchild may still hold the pipes open: give the readers a moment, then move on.
        let grace = Instant::now() + Duration::from_secs(2);
        while open_streams > 0 {
            let left = grace.saturating_duration_since(Instant::now());
            if done_rx.recv_timeout(left).is_err() {
                break;
            }
            open_streams -= 1;
        }
    }

    let status = wait(&mut child, command_line)?;
    let output = CommandOutput {
        command: command_line.to_owned(),
        code: status.code(),
        stdout: take_text(stdout),
        stderr: take_text(stderr),
        combined: String::from_utf8_lossy(&combined.lock().unwrap_or_else(PoisonError::into_inner))
            .into_owned(),
        duration: started.elapsed(),
    };
    Ok(if timed_out { Outcome::TimedOut(output) } else { Outcome::Finished(output) })
}

fn spawn_retrying(cmd: &mut Command, command_line: &str) -> Result<Child, Error> {
    let mut attempts = 0;
    loop {
        match cmd.spawn() {
            Ok(child) => return Ok(child),
            Err(err) if err.raw_os_error() == Some(TEXT_FILE_BUSY) && attempts < 50 => {
                attempts += 1;
                thread::sleep(Duration::from_millis(20));
            }
            Err(err) => return Err(Error::io(format!("cannot start `{command_line}`"), err)),
        }
    }
}

fn wait(child: &mut Child, command_line: &str) -> Result<ExitStatus, Error> {
    child.wait().map_err(|err| Error::io(format!("cannot wait for `{command_line}`"), err))
}

type Reader = (Arc<Mutex<Vec<u8>>>, thread::JoinHandle<()>);

fn spawn_reader(
    mut pipe: impl Read + Send + 'static,
    combined: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Sender<()>,
) -> Reader {
    let own = Arc::new(Mutex::new(Vec::new()));
    let own_for_thread = Arc::clone(&own);
    let handle = thread::spawn(move || {
        let mut chunk = [0_u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    own_for_thread
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .extend_from_slice(&chunk[..n]);
                    combined.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(&chunk[..n]);
                }
            }
        }
        // The receiver may have given up after a timeout; nobody to tell then.
        let _ = done.send(());
    });
    (own, handle)
}

/// Takes what a reader has collected so far. A reader still blocked after a timeout is left behind
/// (detached); its buffer is read as it stands.
fn take_text(reader: Option<Reader>) -> String {
    let Some((buffer, handle)) = reader else {
        return String::new();
    };
    if handle.is_finished() {
        // A reader thread cannot panic short of an allocation failure; its buffer is read either way.
        let _ = handle.join();
    }
    let bytes = buffer.lock().unwrap_or_else(PoisonError::into_inner);
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(script);
        cmd
    }

    #[test]
    fn captures_both_streams_and_the_exit_code() {
        let outcome = run(
            &mut sh("echo out; echo err >&2; sleep 0.05; echo more; exit 3"),
            "sh",
            Duration::from_secs(10),
        )
        .unwrap();
        let Outcome::Finished(output) = outcome else {
            panic!("unexpected timeout");
        };
        assert_eq!(output.code, Some(3));
        assert!(!output.success());
        assert_eq!(output.stdout, "out\nmore\n");
        assert_eq!(output.stderr, "err\n");
        assert!(output.combined.contains("out\n"));
        assert!(output.combined.contains("err\n"));
        // "more" is printed after a pause, so it arrives after both earlier chunks.
        assert!(output.combined.ends_with("more\n"), "{:?}", output.combined);
        assert_eq!(output.status_text(), "code 3");
    }

    #[test]
    fn kills_a_process_that_outlives_the_timeout() {
        let started = Instant::now();
        let outcome = run(&mut sh("echo started; exec sleep 30"), "sh", Duration::from_millis(300)).unwrap();
        assert!(started.elapsed() < Duration::from_secs(10));
        let Outcome::TimedOut(output) = outcome else {
            panic!("expected a timeout");
        };
        assert_eq!(output.stdout, "started\n");
        assert_eq!(output.code, None);
        assert_eq!(output.status_text(), "a signal");
    }

    #[test]
    fn a_missing_program_is_an_io_error_naming_the_command() {
        let err = run(
            &mut Command::new("/nonexistent/terraform"),
            "/nonexistent/terraform version",
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/terraform version"), "{err}");
    }
}
