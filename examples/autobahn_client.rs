//! Autobahn|Testsuite client on the tokio adapter:
//! `autobahn_client BASE_URL AGENT`. Reads the case count, echoes every
//! message of every case, then asks the suite to write its reports. Built
//! with the `deflate` feature, it offers permessage-deflate.

use futures_util::{SinkExt, StreamExt};
use rfc6455::{Message, StreamError};

async fn case_count(base: &str) -> Result<u32, StreamError> {
    let (mut ws, _) = rfc6455::tokio::connect(&format!("{base}/getCaseCount")).await?;
    let mut count = 0;
    while let Some(item) = ws.next().await {
        if let Message::Text(text) = item? {
            count = text.trim().parse().unwrap_or(0);
        }
    }
    Ok(count)
}

async fn run_case(base: &str, case: u32, agent: &str) -> Result<(), StreamError> {
    let url = format!("{base}/runCase?case={case}&agent={agent}");
    let config = rfc6455::Config::default();
    #[cfg(feature = "deflate")]
    let config = config.extensions(
        rfc6455::extension::ExtensionConfig::new()
            .deflate(rfc6455::extension::DeflateConfig::default()),
    );
    let request = rfc6455::handshake::ClientRequest::new(&url)?;
    let (mut ws, _) = rfc6455::tokio::connect_with(request, config).await?;
    while let Some(item) = ws.next().await {
        if let message @ (Message::Text(_) | Message::Binary(_)) = item? {
            ws.send(message).await?;
        }
    }
    Ok(())
}

async fn update_reports(base: &str, agent: &str) -> Result<(), StreamError> {
    let (mut ws, _) =
        rfc6455::tokio::connect(&format!("{base}/updateReports?agent={agent}")).await?;
    while let Some(item) = ws.next().await {
        item?;
    }
    Ok(())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(base), Some(agent)) = (args.next(), args.next()) else {
        eprintln!("usage: autobahn_client BASE_URL AGENT");
        std::process::exit(2);
    };
    let base = base.trim_end_matches('/').to_owned();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let count = match case_count(&base).await {
            Ok(count) => count,
            Err(e) => {
                eprintln!("cannot read the case count: {e}");
                std::process::exit(1);
            }
        };
        for case in 1..=count {
            if let Err(e) = run_case(&base, case, &agent).await {
                eprintln!("case {case}: {e}");
            }
        }
        if let Err(e) = update_reports(&base, &agent).await {
            eprintln!("cannot update the reports: {e}");
            std::process::exit(1);
        }
        println!("ran {count} cases as {agent}");
    });
}
