//! `mqtt pub`.

use std::io::{BufRead, Read};
use std::time::Duration;

use transport_std::Client;

use crate::args::PubArgs;
use crate::connect::{build, failure, parse_url, qos, Failure};

const ACK_TIMEOUT: Duration = Duration::from_secs(30);

pub fn run(args: &PubArgs) -> Result<(), Failure> {
    let url = args.url.as_deref().map(parse_url).transpose()?;
    let topic = args
        .topic
        .clone()
        .or_else(|| url.as_ref().and_then(|u| u.path.clone()))
        .ok_or_else(|| Failure::usage("a topic is needed: -t TOPIC or a URL ending in /TOPIC"))?;
    let (client, target) = build(&args.conn, url.as_ref())?;
    client.connect().map_err(|e| failure(&e, &target))?;
    let result = if args.stdin_line {
        let stdin = std::io::stdin();
        let mut sent = Ok(());
        for line in stdin.lock().lines() {
            let line = line.map_err(|e| Failure::other(format!("reading stdin: {e}")))?;
            sent = send(&client, &target, &topic, line.into_bytes(), args);
            if sent.is_err() {
                break;
            }
        }
        sent
    } else {
        let payload = payload(args)?;
        send(&client, &target, &topic, payload, args)
    };
    let _ = client.disconnect(ACK_TIMEOUT);
    result
}

fn payload(args: &PubArgs) -> Result<Vec<u8>, Failure> {
    if let Some(m) = &args.message {
        return Ok(m.clone().into_bytes());
    }
    if let Some(path) = &args.file {
        return std::fs::read(path).map_err(|e| Failure::other(format!("{}: {e}", path.display())));
    }
    if args.stdin_file {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::other(format!("reading stdin: {e}")))?;
        return Ok(buf);
    }
    if args.null_message {
        return Ok(Vec::new());
    }
    Err(Failure::usage(
        "nothing to publish: use -m, -f, -l, -s or -n",
    ))
}

fn send(
    client: &Client,
    target: &str,
    topic: &str,
    payload: Vec<u8>,
    args: &PubArgs,
) -> Result<(), Failure> {
    let level = qos(args.qos);
    let token = if args.retain {
        client.publish_retained(topic, payload, level)
    } else {
        client.publish(topic, payload, level)
    }
    .map_err(|e| failure(&e, target))?;
    let code = token.wait(ACK_TIMEOUT).map_err(|e| failure(&e, target))?;
    if !code.is_success() {
        return Err(Failure::other(format!(
            "the broker refused the message: {code:?}"
        )));
    }
    Ok(())
}
