//! `burnin-*`: the in-band burn-in. The board's PXE boot (the `pxe` check) loaded the burn-in
//! image (`metal image build burnin`, `pxe/burnin.ipxe`), whose `/burnin` runs stress-ng,
//! memtester, stressapptest and fio and reports one `burnin` event per component, then
//! `burnin-done`. This module reads those events back from the netboot server and judges each
//! component, as MAAS's hardware tests do: FAIL when a tool found an error or reported
//! nothing, DEGRADED when it found none but ran under the profile's floor, else PASS.
//!
//! A reported line is the board's own text: every value is parsed strictly and shown only
//! through `board_text`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use metal_acceptance::{Check, Limit, Measurement};
use metal_inventory::Acceptance;
use metal_types::text::board_text;
use metal_types::{BootEvent, MacAddr};

use super::power::round;
use super::pxe::NetbootServer;

/// Between two looks at the board's events: a burn-in takes minutes.
const POLL: Duration = Duration::from_secs(2);
/// Most `key=value` words in one reported line.
const MAX_FIELDS: usize = 32;
/// Most disks judged on one board.
const MAX_DISKS: usize = 64;
/// At most this many unreadable results are quoted in a check's evidence.
const MAX_LISTED: usize = 5;

/// Where the burn-in starts: the board and the server time of its boot script's fetch.
pub(super) struct BurninStart<'a> {
    pub server: &'a NetbootServer,
    pub mac: MacAddr,
    pub script_at_ms: u64,
    /// Disks AMT reports: the burn-in must have tested as many.
    pub disks: usize,
}

/// Waits up to `burnin_secs` from now for `burnin-done` (or a `failed` event), then judges
/// what was reported.
pub(super) async fn burnin(start: BurninStart<'_>, acceptance: &Acceptance) -> Vec<Check> {
    let limit = acceptance.burnin_secs;
    let deadline = Instant::now() + Duration::from_secs(limit.into());
    let mut last_error: Option<String>;
    let mut seen: Vec<BootEvent> = Vec::new();
    let ending = loop {
        match start.server.events(start.mac).await {
            Err(e) => last_error = Some(e),
            Ok(events) => {
                last_error = None;
                seen = events
                    .into_iter()
                    .filter(|e| e.at_ms >= start.script_at_ms)
                    .collect();
                if let Some(end) = seen
                    .iter()
                    .find(|e| e.stage == "burnin-done" || e.stage == "failed")
                {
                    break Some(end.clone());
                }
            }
        }
        if Instant::now() + POLL > deadline {
            break None;
        }
        tokio::time::sleep(POLL).await;
    };
    // A result sent again (its answer was lost on the way back) counts once.
    let mut distinct = std::collections::HashSet::new();
    let reports: Vec<&BootEvent> = seen
        .iter()
        .filter(|e| e.stage == "burnin" && distinct.insert(e.message.as_str()))
        .collect();
    let mut checks = judge(&reports, start.disks, acceptance);
    match ending {
        Some(end) if end.stage == "failed" => checks.push(Check::fail(
            "burnin",
            format!(
                "the burn-in environment failed: {}",
                board_text(&end.message)
            ),
        )),
        Some(end) => {
            let words = fields(&end.message).unwrap_or_default();
            let told = words
                .get("components")
                .and_then(|c| c.parse::<usize>().ok());
            let took = words.get("secs").and_then(|c| c.parse::<u64>().ok());
            match told {
                Some(n) if n == reports.len() => {
                    let mut c = Check::pass(
                        "burnin",
                        format!(
                            "{n} components tested{}",
                            took.map(|s| format!(" in {s} s")).unwrap_or_default()
                        ),
                    );
                    // The board's own count of seconds: evidence, not a limit (verify's
                    // wait is the limit).
                    if let Some(s) = took {
                        c = c.with(Measurement::new("burnin_seconds", s, Some("s")));
                    }
                    checks.push(c);
                }
                _ => checks.push(Check::fail(
                    "burnin",
                    format!(
                        "the board said it reported {}, but the server holds {} results",
                        board_text(words.get("components").copied().unwrap_or("nothing")),
                        reports.len()
                    ),
                )),
            }
        }
        None => {
            let mut why = format!(
                "no end of the burn-in within {limit} s of the boot script ({} results)",
                reports.len()
            );
            if let Some(e) = last_error {
                why.push_str(&format!("; the server last said: {e}"));
            }
            checks.push(Check::fail("burnin", why));
        }
    }
    checks
}

/// The checks for the reported results: `burnin-cpu`, `burnin-memory` and `burnin-disk-DEV`
/// for each disk, plus `burnin-disk` when fewer disks were tested than AMT reports.
fn judge(reports: &[&BootEvent], disks: usize, acceptance: &Acceptance) -> Vec<Check> {
    let mut cpu = None;
    let mut memory = None;
    let mut tested: Vec<Check> = Vec::new();
    let mut unreadable: Vec<String> = Vec::new();
    for event in reports {
        let words = match fields(&event.message) {
            Ok(w) => w,
            Err(why) => {
                unreadable.push(why);
                continue;
            }
        };
        match words.get("component").copied() {
            Some("cpu") => cpu = Some(judge_cpu(&words, acceptance.cpu_bogo_ops_min)),
            Some("memory") => memory = Some(judge_memory(&words, acceptance.memory_mb_s_min)),
            Some("disk") if tested.len() < MAX_DISKS => {
                match judge_disk(&words, acceptance.disk_mib_s_min) {
                    Ok(check) if tested.iter().any(|t| t.name == check.name) => {
                        unreadable.push(format!(
                            "{} reported twice",
                            check.name.trim_start_matches("burnin-")
                        ))
                    }
                    Ok(check) => tested.push(check),
                    Err(why) => unreadable.push(why),
                }
            }
            Some("disk") => {}
            other => unreadable.push(format!(
                "an unknown component {}",
                board_text(other.unwrap_or("(none)"))
            )),
        }
    }
    let unreadable = listed(&unreadable);
    let missing = |name: &str, what: &str| {
        let mut why = format!("the burn-in reported no {what} result");
        if !unreadable.is_empty() {
            why.push_str(&format!(" (unreadable: {unreadable})"));
        }
        Check::fail(name, why)
    };
    let mut checks = vec![
        cpu.unwrap_or_else(|| missing("burnin-cpu", "CPU")),
        memory.unwrap_or_else(|| missing("burnin-memory", "memory")),
    ];
    if tested.len() < disks {
        let names: Vec<&str> = tested
            .iter()
            .map(|c| c.name.trim_start_matches("burnin-disk-"))
            .collect();
        let mut why = format!(
            "AMT reports {disks} disks, the burn-in tested {}",
            tested.len()
        );
        if !names.is_empty() {
            why.push_str(&format!(" ({})", names.join(", ")));
        }
        if !unreadable.is_empty() {
            why.push_str(&format!("; unreadable: {unreadable}"));
        }
        checks.push(Check::fail("burnin-disk", why));
    }
    checks.extend(tested);
    checks
}

/// The first [`MAX_LISTED`] of `items` joined, and how many more there were: a board that
/// sends thousands of bad lines does not make the evidence as long.
fn listed(items: &[String]) -> String {
    let mut text = items
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if items.len() > MAX_LISTED {
        text.push_str(&format!("; and {} more", items.len() - MAX_LISTED));
    }
    text
}

/// `key=value` words; keys are lower-case words given once, values have no spaces.
fn fields(message: &str) -> Result<BTreeMap<&str, &str>, String> {
    let mut out = BTreeMap::new();
    for (n, word) in message.split_whitespace().enumerate() {
        if n == MAX_FIELDS {
            return Err(format!("more than {MAX_FIELDS} fields"));
        }
        let Some((key, value)) = word.split_once('=') else {
            return Err(format!("{} is not key=value", board_text(word)));
        };
        if key.is_empty() || !key.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            return Err(format!("{} is not a key", board_text(key)));
        }
        if out.insert(key, value).is_some() {
            return Err(format!("{} is given twice", board_text(key)));
        }
    }
    Ok(out)
}

/// A whole number that is there.
fn count(words: &BTreeMap<&str, &str>, key: &str) -> Option<u64> {
    words.get(key).and_then(|v| v.parse().ok())
}

/// A finite, non-negative rate that is there.
fn rate(words: &BTreeMap<&str, &str>, key: &str) -> Option<f64> {
    words
        .get(key)
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite() && *v >= 0.0)
}

/// PASS, or DEGRADED when `value` is under `floor`.
fn against_floor(name: &str, value: f64, floor: Option<u32>, evidence: String) -> Check {
    match floor {
        Some(min) if value < f64::from(min) => Check::degraded(
            name,
            format!("{evidence}: under the profile's floor of {min}"),
        ),
        _ => Check::pass(name, evidence),
    }
}

fn with_floor(m: Measurement, floor: Option<u32>) -> Measurement {
    match floor {
        Some(min) => m.limited(Limit::AtLeast(f64::from(min))),
        None => m,
    }
}

/// stress-ng's cpu stressor with `--verify`: exit 0 is a clean run; 2 a stressor failed
/// (with `--verify`, a wrong result); anything else it could not run.
fn judge_cpu(words: &BTreeMap<&str, &str>, floor: Option<u32>) -> Check {
    const NAME: &str = "burnin-cpu";
    let cpus = count(words, "cpus").unwrap_or(0);
    let secs = count(words, "secs").unwrap_or(0);
    match count(words, "exit") {
        Some(0) => {}
        Some(2) => {
            return Check::fail(
                NAME,
                format!("stress-ng on {cpus} CPUs: a stressor failed its own verification"),
            );
        }
        Some(code) => {
            return Check::fail(NAME, format!("stress-ng could not run (exit {code})"));
        }
        None => return Check::fail(NAME, "stress-ng reported no exit status"),
    }
    let Some(ops) = rate(words, "bogo_ops_s") else {
        return Check::fail(NAME, "stress-ng ran but printed no rate");
    };
    let plural = if cpus == 1 { "" } else { "s" };
    let evidence = format!(
        "stress-ng --verify on {cpus} CPU{plural} for {secs} s, no errors, {} bogo ops/s",
        round(ops)
    );
    against_floor(NAME, ops, floor, evidence)
        .with(Measurement::new("cpus", cpus, None))
        .with(with_floor(
            Measurement::new("bogo_ops_per_second", round(ops), Some("1/s")),
            floor,
        ))
}

/// memtester (exit bits: 1 memory could not be locked, 2 the stuck-address test failed, 4
/// another pattern failed) then stressapptest (exit 0 and "0 errors").
fn judge_memory(words: &BTreeMap<&str, &str>, floor: Option<u32>) -> Check {
    const NAME: &str = "burnin-memory";
    let mib = count(words, "mib").unwrap_or(0);
    let available = count(words, "available_mib").unwrap_or(0);
    match count(words, "memtester_exit") {
        Some(0) => {}
        Some(code) => {
            let mut why = Vec::new();
            if code & 1 != 0 {
                why.push("could not allocate or lock the memory");
            }
            if code & 2 != 0 {
                why.push("the stuck-address test failed");
            }
            if code & 4 != 0 {
                why.push("a pattern test failed");
            }
            if why.is_empty() {
                why.push("an unknown error");
            }
            let failures = count(words, "memtester_failures").unwrap_or(0);
            return Check::fail(
                NAME,
                format!(
                    "memtester over {mib} MiB (exit {code}): {}; {failures} FAILURE lines",
                    why.join(", ")
                ),
            );
        }
        None => return Check::fail(NAME, "memtester reported no exit status"),
    }
    let errors = count(words, "errors");
    let incidents = count(words, "incidents");
    match (count(words, "stressapptest_exit"), errors, incidents) {
        (Some(0), Some(0), Some(0)) => {}
        (Some(code), errors, incidents) => {
            let shown = |v: Option<u64>| v.map_or("no count of".to_string(), |n| n.to_string());
            return Check::fail(
                NAME,
                format!(
                    "stressapptest over {mib} MiB (exit {code}): {} errors, {} hardware incidents",
                    shown(errors),
                    shown(incidents)
                ),
            );
        }
        (None, ..) => return Check::fail(NAME, "stressapptest reported no exit status"),
    }
    let Some(mb_s) = rate(words, "mb_s") else {
        return Check::fail(NAME, "stressapptest ran but printed no rate");
    };
    let evidence = format!(
        "memtester and stressapptest over {mib} MiB ({available} MiB free): no errors, {} MB/s",
        round(mb_s)
    );
    against_floor(NAME, mb_s, floor, evidence)
        .with(Measurement::new("tested_mib", mib, Some("MiB")))
        .with(with_floor(
            Measurement::new("copy_mb_per_second", round(mb_s), Some("MB/s")),
            floor,
        ))
}

/// fio on one disk: a write with crc32c verification on a blank disk, else a read. A result
/// without a usable device name is an error: it cannot be told apart from the others.
fn judge_disk(words: &BTreeMap<&str, &str>, floor: Option<u32>) -> Result<Check, String> {
    let device = words
        .get("device")
        .copied()
        .filter(|d| !d.is_empty() && d.len() <= 32 && d.bytes().all(|b| b.is_ascii_alphanumeric()));
    let Some(device) = device else {
        return Err(format!(
            "a disk result without a usable device name ({})",
            board_text(words.get("device").copied().unwrap_or("none"))
        ));
    };
    let name = format!("burnin-disk-{device}");
    let mib = count(words, "mib").unwrap_or(0);
    let writing = words.get("mode") == Some(&"write");
    let error = words.get("error").copied().unwrap_or("");
    match count(words, "exit") {
        Some(0) if matches!(error, "" | "0") => {}
        Some(code) => {
            let detail = if matches!(error, "" | "0") {
                String::new()
            } else {
                format!(", I/O error {}", board_text(error))
            };
            let what = if writing {
                "writing and verifying"
            } else {
                "reading"
            };
            return Ok(Check::fail(
                &name,
                format!("fio failed {what} {mib} MiB of {device} (exit {code}{detail})"),
            ));
        }
        None => {
            return Ok(Check::fail(
                &name,
                format!("fio reported no exit status for {device}"),
            ));
        }
    }
    let kib_s = rate(words, if writing { "write_kib_s" } else { "read_kib_s" });
    let Some(kib_s) = kib_s else {
        return Ok(Check::fail(
            &name,
            format!("fio ran on {device} but printed no rate"),
        ));
    };
    let mib_s = kib_s / 1024.0;
    let evidence = if writing {
        format!(
            "fio wrote and verified (crc32c) {mib} MiB of {device} at {} MiB/s",
            round(mib_s)
        )
    } else {
        let signatures = board_text(words.get("signatures").copied().unwrap_or(""));
        let why = if signatures.is_empty() {
            "writing is off".to_string()
        } else {
            format!("it holds {signatures}")
        };
        format!(
            "fio read {mib} MiB of {device} at {} MiB/s (only read: {why})",
            round(mib_s)
        )
    };
    Ok(against_floor(&name, mib_s, floor, evidence)
        .with(Measurement::new(
            "mode",
            if writing { "write-verify" } else { "read" },
            None,
        ))
        .with(with_floor(
            Measurement::new("mib_per_second", round(mib_s), Some("MiB/s")),
            floor,
        )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use metal_acceptance::Verdict;

    fn event(message: &str) -> BootEvent {
        BootEvent {
            at_ms: 1,
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            stage: "burnin".into(),
            message: message.into(),
            from: "10.0.0.2".parse().unwrap(),
        }
    }

    // The lines `images/burnin/burnin` writes, with the values stress-ng 0.15, memtester 4.5,
    // stressapptest 1.0.6 and fio 3.33 gave on this machine.
    const CPU: &str = "component=cpu tool=stress-ng exit=0 cpus=2 secs=3 bogo_ops_s=1240.085006";
    const MEMORY: &str = "component=memory tool=memtester,stressapptest memtester_exit=0 memtester_failures=0 stressapptest_exit=0 mib=32 available_mib=21000 secs=3 mb_s=6421.03 errors=0 incidents=0";
    const VDA: &str = "component=disk device=vda tool=fio exit=0 mode=write mib=32 size_mib=1024 error=0 read_kib_s=448876 write_kib_s=822857 signatures=";
    const VDB: &str = "component=disk device=vdb tool=fio exit=0 mode=read mib=32 size_mib=1024 error=0 read_kib_s=448876 write_kib_s=0 signatures=gpt,linux_raid_member";

    fn verdicts(lines: &[&str], disks: usize, a: &Acceptance) -> Vec<(String, Verdict)> {
        let events: Vec<BootEvent> = lines.iter().map(|l| event(l)).collect();
        let refs: Vec<&BootEvent> = events.iter().collect();
        judge(&refs, disks, a)
            .into_iter()
            .map(|c| (c.name, c.verdict))
            .collect()
    }

    #[test]
    fn clean_runs_pass_and_slow_ones_are_degraded_not_failed() {
        let a = Acceptance::default();
        let v = verdicts(&[CPU, MEMORY, VDA, VDB], 2, &a);
        assert_eq!(
            v,
            [
                ("burnin-cpu".to_string(), Verdict::Pass),
                ("burnin-memory".to_string(), Verdict::Pass),
                ("burnin-disk-vda".to_string(), Verdict::Pass),
                ("burnin-disk-vdb".to_string(), Verdict::Pass),
            ]
        );
        let floors = Acceptance {
            cpu_bogo_ops_min: Some(2000),
            memory_mb_s_min: Some(1000),
            disk_mib_s_min: Some(500),
            ..Acceptance::default()
        };
        let v = verdicts(&[CPU, MEMORY, VDA, VDB], 2, &floors);
        let by: BTreeMap<String, Verdict> = v.into_iter().collect();
        assert_eq!(by["burnin-cpu"], Verdict::Degraded, "1240 < 2000");
        assert_eq!(by["burnin-memory"], Verdict::Pass, "6421 >= 1000");
        assert_eq!(
            by["burnin-disk-vda"],
            Verdict::Pass,
            "a written disk is judged by its write rate, 803 MiB/s"
        );
        assert_eq!(
            by["burnin-disk-vdb"],
            Verdict::Degraded,
            "438 MiB/s read < 500"
        );
    }

    #[test]
    fn a_found_error_fails_with_the_tool_and_cause() {
        let a = Acceptance::default();
        let bad_memory = MEMORY.replace(
            "memtester_exit=0 memtester_failures=0",
            "memtester_exit=6 memtester_failures=3",
        );
        let bad_sat = MEMORY.replace("errors=0", "errors=12");
        let bad_cpu = CPU.replace("exit=0", "exit=2");
        let bad_disk = VDA
            .replace("exit=0", "exit=1")
            .replace("error=0", "error=84");
        for (lines, name, want) in [
            (
                vec![bad_cpu.as_str(), MEMORY],
                "burnin-cpu",
                "failed its own verification",
            ),
            (
                vec![CPU, bad_memory.as_str()],
                "burnin-memory",
                "the stuck-address test failed, a pattern test failed; 3 FAILURE",
            ),
            (vec![CPU, bad_sat.as_str()], "burnin-memory", "12 errors"),
            (
                vec![CPU, MEMORY, bad_disk.as_str()],
                "burnin-disk-vda",
                "writing and verifying 32 MiB of vda (exit 1, I/O error 84)",
            ),
        ] {
            let events: Vec<BootEvent> = lines.iter().map(|l| event(l)).collect();
            let refs: Vec<&BootEvent> = events.iter().collect();
            let checks = judge(&refs, 0, &a);
            let c = checks.iter().find(|c| c.name == name).unwrap();
            assert_eq!(c.verdict, Verdict::Fail, "{name}: {}", c.evidence);
            assert!(c.evidence.contains(want), "{name}: {}", c.evidence);
        }
    }

    #[test]
    fn missing_components_and_hostile_lines_fail_without_echoing_control_characters() {
        let a = Acceptance::default();
        let events = [
            event("component=disk device=../../x exit=0"),
            event("component=cpu\u{1b}]0;pwn\u{7} exit=0"),
            event(VDA),
            event(
                &(1..=40)
                    .map(|n| format!("{}=1", "k".repeat(n)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            event("component=memory component=cpu"),
        ];
        let refs: Vec<&BootEvent> = events.iter().collect();
        let checks = judge(&refs, 3, &a);
        let by: BTreeMap<&str, &Check> = checks.iter().map(|c| (c.name.as_str(), c)).collect();
        assert_eq!(by["burnin-cpu"].verdict, Verdict::Fail);
        assert!(
            by["burnin-cpu"].evidence.contains("no CPU result"),
            "{}",
            by["burnin-cpu"].evidence
        );
        assert!(by["burnin-cpu"].evidence.contains("more than 32 fields"));
        assert!(
            by["burnin-cpu"]
                .evidence
                .contains("component is given twice")
        );
        assert_eq!(by["burnin-memory"].verdict, Verdict::Fail);
        assert_eq!(by["burnin-disk"].verdict, Verdict::Fail);
        assert!(
            by["burnin-disk"]
                .evidence
                .contains("AMT reports 3 disks, the burn-in tested 1 (vda); unreadable: a disk result without a usable device name"),
            "{}",
            by["burnin-disk"].evidence
        );
        assert_eq!(by["burnin-disk-vda"].verdict, Verdict::Pass);
        for c in &checks {
            assert!(
                !c.evidence.contains('\u{1b}') && !c.evidence.contains('\u{7}'),
                "{c:?}"
            );
        }
    }

    #[test]
    fn a_disk_reported_twice_counts_once_and_a_flood_of_bad_lines_is_cut_short() {
        let a = Acceptance::default();
        let mut events = vec![event(CPU), event(MEMORY), event(VDA), event(VDA)];
        events.extend((0..1000).map(|n| event(&format!("junk{n}"))));
        let refs: Vec<&BootEvent> = events.iter().collect();
        let checks = judge(&refs, 2, &a);
        let disks: Vec<&Check> = checks
            .iter()
            .filter(|c| c.name.starts_with("burnin-disk"))
            .collect();
        assert_eq!(disks.len(), 2, "{disks:?}");
        let short = disks.iter().find(|c| c.name == "burnin-disk").unwrap();
        assert_eq!(short.verdict, Verdict::Fail);
        assert!(
            short
                .evidence
                .starts_with("AMT reports 2 disks, the burn-in tested 1 (vda); unreadable: disk-vda reported twice; "),
            "{}",
            short.evidence
        );
        assert!(
            short.evidence.ends_with("; and 996 more"),
            "{}",
            short.evidence
        );
        assert!(short.evidence.len() < 400, "{}", short.evidence.len());
    }
}
