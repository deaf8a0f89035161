//! The `augchatd` binary: read the config, start logging, bind, print the banner, serve.
//! Every boot failure is one line on stderr and exit code 1 (SPEC §11 #4).

use std::process::ExitCode;

use augchatd::config::Config;
use augchatd::{Application, logging};

fn main() -> ExitCode {
    #[expect(clippy::disallowed_methods, reason = "the one place that reads the environment")]
    let env = std::env::vars().collect();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match Config::load(&args, env) {
        Ok(config) => config,
        Err(e) => return fail(&e),
    };
    logging::init(&config);
    for warning in &config.warnings {
        tracing::warn!(warning = %warning, "configuration fallback");
    }
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let app = match Application::build(config, std::net::TcpListener::bind).await {
            Ok(app) => app,
            Err(e) => return fail(&e),
        };
        // Listening before the banner, so a supervisor that signals as soon as it sees it is heard.
        let stop = match augchatd::shutdown::signals() {
            Ok(stop) => stop,
            Err(e) => return fail(&format!("cannot listen for SIGTERM/SIGINT: {e}")),
        };
        print_banner(app.banner());
        match app.run_until(stop).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&format!("server failed: {e}")),
        }
    })
}

#[expect(clippy::print_stdout, reason = "SPEC §9.3: the boot banner goes to stdout")]
fn print_banner(lines: &[String]) {
    for line in lines {
        println!("{line}");
    }
}

#[expect(clippy::print_stderr, reason = "boot errors happen before or instead of logging: one plain line")]
fn fail(message: &dyn std::fmt::Display) -> ExitCode {
    eprintln!("{message}");
    ExitCode::from(1)
}
