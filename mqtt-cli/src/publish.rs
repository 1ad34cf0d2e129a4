//! `mqtt pub`.

use std::collections::VecDeque;
use std::io::{BufRead, Read};
use std::time::Duration;

use transport_std::{Client, PublishToken};

use crate::args::PubArgs;
use crate::connect::{build, failure, parse_url, qos, Failure};

/// How long the broker may leave the oldest message unacknowledged (the connection may be
/// reconnecting meanwhile) before `mqtt pub` gives up.
const ACK_TIMEOUT: Duration = Duration::from_secs(30);

pub fn run(args: &PubArgs) -> Result<(), Failure> {
    let url = args.url.as_deref().map(parse_url).transpose()?;
    let topic = args
        .topic
        .clone()
        .or_else(|| url.as_ref().and_then(|u| u.path.clone()))
        .ok_or_else(|| Failure::usage("a topic is needed: -t TOPIC or a URL ending in /TOPIC"))?;
    let (client, target) = build(&args.conn, url.as_ref())?;
    let single = if args.stdin_line {
        None
    } else {
        Some(payload(args)?)
    };
    client.connect().map_err(|e| failure(&e, &target))?;
    let sender = Sender {
        client: &client,
        target: &target,
        topic: &topic,
        args,
    };
    let result = match single {
        Some(payload) => sender
            .publish(payload)
            .and_then(|token| sender.check(&token, None)),
        None => sender.lines(),
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

struct Sender<'a> {
    client: &'a Client,
    target: &'a str,
    topic: &'a str,
    args: &'a PubArgs,
}

impl Sender<'_> {
    /// Publishes one message; blocks while the client has no room (backpressure).
    fn publish(&self, payload: Vec<u8>) -> Result<PublishToken, Failure> {
        let level = qos(self.args.qos);
        if self.args.retain {
            self.client.publish_retained(self.topic, payload, level)
        } else {
            self.client.publish(self.topic, payload, level)
        }
        .map_err(|e| failure(&e, self.target))
    }

    /// Waits for the acknowledgement of one message; a refusal names its line, if any.
    fn check(&self, token: &PublishToken, line: Option<usize>) -> Result<(), Failure> {
        let code = token
            .wait(ACK_TIMEOUT)
            .map_err(|e| failure(&e, self.target))?;
        if code.is_success() {
            return Ok(());
        }
        Err(Failure::other(match line {
            Some(n) => format!("the broker refused line {n}: {code:?}"),
            None => format!("the broker refused the message: {code:?}"),
        }))
    }

    /// `-l`: one message per line, pipelined. Lines are published as fast as the client takes
    /// them (it blocks when its in-flight window and queue are full) while acknowledgements
    /// arrive; finished ones are checked as they come, the rest at the end of the input.
    fn lines(&self) -> Result<(), Failure> {
        let mut pending: VecDeque<(usize, PublishToken)> = VecDeque::new();
        for (index, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| Failure::other(format!("reading stdin: {e}")))?;
            pending.push_back((index + 1, self.publish(line.into_bytes())?));
            while pending.front().is_some_and(|(_, t)| t.is_done()) {
                if let Some((n, token)) = pending.pop_front() {
                    self.check(&token, Some(n))?;
                }
            }
        }
        for (n, token) in pending {
            self.check(&token, Some(n))?;
        }
        Ok(())
    }
}
