//! The `exit3-server` binary: `serve` (the default), `migrate`, `maintenance`,
//! `check [--deploy]`, `openapi`, `healthcheck` — see [`exit3_server::app`].

fn main() -> std::process::ExitCode {
    exit3_server::app::main()
}
