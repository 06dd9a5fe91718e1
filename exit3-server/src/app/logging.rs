//! Logging: `LOG_FORMAT` (`json` or `pretty`), `LOG_LEVEL` (or `RUST_LOG`), standard
//! error always, and with `LOG_FILE` also a file rotated by size (10 MB, the current file
//! and 5 old ones: `app.log`, `app.log.1` … `app.log.5`, as the Django backend's
//! `RotatingFileHandler` kept). With Sentry on, warnings and errors also become
//! breadcrumbs of the request's error report.

use std::{
    fs::OpenOptions,
    io,
    path::{Path, PathBuf},
    sync::Mutex,
};

use file_rotate::{ContentLimit, FileRotate, compression::Compression, suffix::AppendCount};
use tracing_subscriber::{EnvFilter, Layer, Registry, layer::SubscriberExt};

use super::{
    config::{LogFormat, Settings},
    error_reports,
};

/// The size at which `LOG_FILE` is rotated.
pub const LOG_FILE_MAX_BYTES: usize = 10 * 1024 * 1024;
/// How many rotated files are kept besides the current one.
pub const LOG_FILE_KEEP: usize = 5;

/// A log file rotated when it passes `max_bytes` (never inside a line), keeping `keep`
/// old files. Fails, instead of panicking later, when the file cannot be opened.
pub fn rotating_file(
    path: &Path,
    max_bytes: usize,
    keep: usize,
) -> io::Result<Mutex<FileRotate<AppendCount>>> {
    let path: PathBuf = if path.is_absolute() {
        path.to_owned()
    } else {
        std::env::current_dir()?.join(path)
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(&path)?;
    Ok(Mutex::new(FileRotate::new(
        path,
        AppendCount::new(keep),
        ContentLimit::BytesSurpassed(max_bytes.max(1)),
        Compression::None,
        None,
    )))
}

type BoxedLayer = Box<dyn Layer<Registry> + Send + Sync>;

fn format_layer<W>(format: LogFormat, writer: W, ansi: bool) -> BoxedLayer
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(ansi);
    match format {
        LogFormat::Json => layer.json().flatten_event(true).boxed(),
        LogFormat::Pretty => layer.boxed(),
    }
}

/// The filter: `RUST_LOG` when set, else `LOG_LEVEL`.
fn filter(settings: &Settings) -> EnvFilter {
    EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"))
}

/// A subscriber for `settings` (call [`error_reports::init`] first for the Sentry layer).
pub fn subscriber(
    settings: &Settings,
) -> Result<impl tracing::Subscriber + Send + Sync + 'static, String> {
    let stderr = format_layer(
        settings.log_format,
        io::stderr,
        io::IsTerminal::is_terminal(&io::stderr()),
    );
    let mut layers: Vec<BoxedLayer> = vec![stderr.with_filter(filter(settings)).boxed()];
    if let Some(path) = &settings.log_file {
        let writer = rotating_file(path, LOG_FILE_MAX_BYTES, LOG_FILE_KEEP)
            .map_err(|e| format!("LOG_FILE={}: {e}", path.display()))?;
        let file = format_layer(settings.log_format, writer, false);
        layers.push(file.with_filter(filter(settings)).boxed());
    }
    if error_reports::enabled() {
        layers.push(error_reports::tracing_layer::<Registry>().boxed());
    }
    Ok(Registry::default().with(layers))
}

/// Installs [`subscriber`] as the global default.
pub fn init(settings: &Settings) -> Result<(), String> {
    let subscriber = subscriber(settings)?;
    // A second call (tests) keeps the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
    Ok(())
}
