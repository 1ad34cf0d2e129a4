//! The quick chaos suite (`scripts/chaos.sh --quick`): both transports × both versions, each
//! through ≥ 100 seeded faults. No QoS 1 message lost, no QoS 2 message lost or duplicated,
//! order kept per topic.

use reliability::chaos::{quick, run, Transport};

fn check(transport: Transport, version: u8, seed: u64) {
    let reports = run(&quick(transport, version, seed));
    for report in &reports {
        println!("{report}");
    }
    for report in &reports {
        assert!(report.holds(), "{report}");
        assert!(
            report.faults >= 100,
            "only {} faults: {report}",
            report.faults
        );
    }
}

#[test]
fn blocking_v311() {
    check(Transport::Blocking, 3, 0x000C_4A05 + 1);
}

#[test]
fn blocking_v5() {
    check(Transport::Blocking, 5, 0x000C_4A05 + 2);
}

#[test]
fn async_v311() {
    check(Transport::Async, 3, 0x000C_4A05 + 3);
}

#[test]
fn async_v5() {
    check(Transport::Async, 5, 0x000C_4A05 + 4);
}
