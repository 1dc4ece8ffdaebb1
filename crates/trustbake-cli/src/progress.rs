//! Progress on a terminal: one line per blob in flight or done (download, upload, mount,
//! already there) with a byte bar, redrawn in place at most ten times a second, and the bake's
//! own messages printed above the bars. Used only when stderr is a terminal.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use trustbake::registry::{Action, Progress};

use crate::render::mb;

/// The bars.
pub(crate) struct Bars {
    state: Mutex<State>,
}

struct State {
    rows: Vec<Row>,
    index: HashMap<(String, String, &'static str), usize>,
    drawn: usize,
    last: Option<Instant>,
}

struct Row {
    label: String,
    done: u64,
    total: Option<u64>,
}

const WIDTH: usize = 24;

impl Bars {
    pub(crate) fn new() -> Self {
        Bars {
            state: Mutex::new(State {
                rows: Vec::new(),
                index: HashMap::new(),
                drawn: 0,
                last: None,
            }),
        }
    }

    /// A message above the bars.
    pub(crate) fn message(&self, text: &str) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let mut err = std::io::stderr().lock();
        state.clear(&mut err);
        let _ = writeln!(err, "{text}");
        state.draw(&mut err);
    }

    /// One step of a blob's transfer.
    pub(crate) fn update(&self, p: &Progress<'_>) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let verb = match p.action {
            Action::Download => "download",
            Action::Upload => "upload",
            Action::Mount => "mounted",
            Action::Present => "already there",
            _ => "transfer",
        };
        let digest = p.digest.to_string();
        let key = (p.registry.to_owned(), digest.clone(), verb);
        let i = match state.index.get(&key) {
            Some(i) => *i,
            None => {
                let label = format!(
                    "{verb:<13} {} {}",
                    &digest[..digest.len().min(19)],
                    p.registry
                );
                state.rows.push(Row {
                    label,
                    done: 0,
                    total: p.total,
                });
                let i = state.rows.len() - 1;
                state.index.insert(key, i);
                i
            }
        };
        let row = &mut state.rows[i];
        row.done = p.done;
        row.total = p.total.or(row.total);
        let finished = row.total.is_some_and(|t| row.done >= t);
        let due = state
            .last
            .is_none_or(|l| l.elapsed() >= Duration::from_millis(100));
        if due || finished {
            let mut err = std::io::stderr().lock();
            state.clear(&mut err);
            state.draw(&mut err);
            state.last = Some(Instant::now());
        }
    }
}

impl State {
    /// Moves back over the bars drawn last, clearing them.
    fn clear(&mut self, out: &mut impl Write) {
        if self.drawn > 0 {
            let _ = write!(out, "\x1b[{}A\x1b[J", self.drawn);
        }
        self.drawn = 0;
    }

    fn draw(&mut self, out: &mut impl Write) {
        for row in &self.rows {
            let (bar, amount) = match row.total {
                Some(total) if total > 0 => {
                    let filled =
                        ((row.done.min(total) as f64 / total as f64) * WIDTH as f64) as usize;
                    (
                        format!("{}{}", "#".repeat(filled), "-".repeat(WIDTH - filled)),
                        format!("{} / {}", mb(row.done), mb(total)),
                    )
                }
                _ => ("-".repeat(WIDTH), mb(row.done)),
            };
            let _ = writeln!(out, "{}  [{bar}]  {amount}", row.label);
        }
        self.drawn = self.rows.len();
        let _ = out.flush();
    }
}
