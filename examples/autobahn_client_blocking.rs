//! Runs the Autobahn|Testsuite fuzzing server's cases against the blocking
//! client: every text or binary message is echoed until the case closes.
//! Built with the `deflate` feature, it offers permessage-deflate.
//!
//! Usage: `autobahn_client_blocking BASE_URL AGENT`, for example
//! `autobahn_client_blocking ws://127.0.0.1:9001 rfc6455-blocking`.

use std::process::ExitCode;

use rfc6455::blocking;
use rfc6455::{CloseCode, Message, StreamError};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(base), Some(agent)) = (args.next(), args.next()) else {
        eprintln!("usage: autobahn_client_blocking BASE_URL AGENT");
        return ExitCode::from(2);
    };
    let base = base.trim_end_matches('/');
    let count = match case_count(base) {
        Ok(count) => count,
        Err(e) => {
            eprintln!("getCaseCount failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{count} cases");
    for case in 1..=count {
        if let Err(e) = run_case(&format!("{base}/runCase?case={case}&agent={agent}")) {
            println!("case {case}: {e}");
        }
    }
    if let Err(e) = update_reports(&format!("{base}/updateReports?agent={agent}")) {
        eprintln!("updateReports failed: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

fn case_count(base: &str) -> Result<u32, Box<dyn std::error::Error>> {
    let (mut ws, _) = blocking::connect(&format!("{base}/getCaseCount"))?;
    let mut count = None;
    loop {
        match ws.read() {
            Ok(Message::Text(text)) => count = Some(text.trim().parse()?),
            Ok(_) => {}
            Err(StreamError::Closed) => break,
            Err(e) => return Err(e.into()),
        }
    }
    count.ok_or_else(|| "no case count received".into())
}

fn run_case(url: &str) -> Result<(), StreamError> {
    let config = rfc6455::Config::default();
    #[cfg(feature = "deflate")]
    let config = config.extensions(
        rfc6455::extension::ExtensionConfig::new()
            .deflate(rfc6455::extension::DeflateConfig::default()),
    );
    let request = rfc6455::handshake::ClientRequest::new(url)?;
    let (mut ws, _) = blocking::connect_with(request, config)?;
    loop {
        match ws.read() {
            Ok(message @ (Message::Text(_) | Message::Binary(_))) => ws.send(message)?,
            Ok(_) => {}
            Err(StreamError::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn update_reports(url: &str) -> Result<(), StreamError> {
    let (mut ws, _) = blocking::connect(url)?;
    ws.close(CloseCode::NORMAL, "")?;
    loop {
        match ws.read() {
            Ok(_) => {}
            Err(StreamError::Closed) => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}
