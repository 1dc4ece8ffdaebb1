//! Logging to stderr: `-v` levels, the HTTP and TLS crates' traces capped, no ANSI colours
//! off a terminal.

/// Logs on stderr at the level `-v`s (or `TRUSTBAKE_LOG`) ask for — but the HTTP and TLS
/// crates never below debug: their trace level dumps raw request bytes (an `Authorization`
/// header in hex), whatever the user asks. Colours only on a terminal, never with `NO_COLOR`.
pub(crate) fn init_logging(verbose: u8) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRUSTBAKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let cap = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() < tracing::Level::TRACE || !wire_level(meta.target())
    });
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_ansi(ansi)
        .with_filter(filter)
        .with_filter(cap);
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Targets whose trace level shows bytes on the wire (requests with their headers, TLS
/// records): never logged at trace.
pub(crate) fn wire_level(target: &str) -> bool {
    ["ureq", "ureq_proto", "rustls", "webpki", "h2", "hyper"]
        .iter()
        .any(|crate_name| {
            target == *crate_name
                || target
                    .strip_prefix(crate_name)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
}
