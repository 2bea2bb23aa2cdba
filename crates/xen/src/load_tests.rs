use super::*;

/// `xl info` of a Xen 4.17 Dom0 under QEMU (abridged to the lines around the ones used).
const XL_INFO: &str = "host                   : dom0-a
release                : 6.1.0-50-amd64
machine                : x86_64
nr_cpus                : 2
max_cpu_id             : 1
nr_nodes               : 1
cores_per_socket       : 2
threads_per_core       : 1
cpu_mhz                : 2495.998
virt_caps              : pv hvm hap
total_memory           : 2047
free_memory            : 1380
sharing_freed_memory   : 0
free_cpus              : 0
xen_major              : 4
xen_minor              : 17
xen_commandline        : dom0_mem=512M,max:512M dom0_max_vcpus=1
";

const XL_LIST: &str = "Name                                        ID   Mem VCPUs\tState\tTime(s)
Domain-0                                     0   512     1     r-----      41.7
web-1                                        3   256     1     -b----       6.2
db-1                                         4  1024     2     r-----      12.0
";

#[test]
fn xl_info_gives_cpus_and_memory() {
    assert_eq!(
        parse_xl_info(XL_INFO).unwrap(),
        HostInfo {
            nr_cpus: 2,
            total_memory_mib: 2047,
            free_memory_mib: 1380
        }
    );
}

#[test]
fn xl_info_without_free_memory_or_with_garbage_names_the_field() {
    let missing = XL_INFO.replace("free_memory            : 1380\n", "");
    assert_eq!(
        parse_xl_info(&missing),
        Err(LoadError::MissingInfo("free_memory"))
    );
    let garbage = XL_INFO.replace(": 2047", ": lots");
    assert_eq!(
        parse_xl_info(&garbage).unwrap_err().to_string(),
        "`xl info` total_memory is \"lots\", not a number"
    );
    let huge = XL_INFO.replace("nr_cpus                : 2", "nr_cpus : 99999999999");
    assert!(parse_xl_info(&huge).is_err());
}

#[test]
fn xl_list_gives_every_domain() {
    let d = parse_xl_list(XL_LIST).unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!(d[1].name, "web-1");
    assert_eq!((d[1].id, d[1].memory_mib, d[1].vcpus), (3, 256, 1));
    assert_eq!(d[1].state, "-b----");
    assert!((d[2].cpu_seconds - 12.0).abs() < 1e-9);
}

#[test]
fn a_malformed_xl_list_line_is_an_error_with_its_line() {
    let bad = XL_LIST.replace("  4  1024", "  x  1024");
    assert_eq!(
        parse_xl_list(&bad).unwrap_err().to_string(),
        "`xl list` line 4: ID is not a number"
    );
    let nan = XL_LIST.replace("12.0", "NaN");
    assert!(parse_xl_list(&nan).is_err());
}

fn sample(at: f64, list: &str, traffic: &[(u32, Traffic)], busy_ms: u64) -> Sample {
    Sample {
        at_secs: at,
        host: parse_xl_info(XL_INFO).unwrap(),
        domains: parse_xl_list(list).unwrap(),
        traffic: traffic.iter().copied().collect(),
        disk_busy_ms: busy_ms,
    }
}

#[test]
fn two_samples_give_shares_and_rates() {
    let t0 = Traffic::default();
    let a = sample(100.0, XL_LIST, &[(3, t0), (4, t0)], 5_000);
    let later = XL_LIST
        .replace("41.7", "42.7")
        .replace("6.2", "6.7")
        .replace("12.0", "20.0");
    let web = Traffic {
        read_bytes: 1_000_000,
        write_bytes: 0,
        rx_bytes: 50_000_000,
        tx_bytes: 100_000_000,
    };
    let db = Traffic {
        read_bytes: 30_000_000,
        write_bytes: 9_000_000,
        rx_bytes: 0,
        tx_bytes: 0,
    };
    // Ten seconds on two CPUs; the disks were busy 6 of them.
    let b = sample(110.0, &later, &[(3, web), (4, db)], 11_000);
    let load = Load::between(&a, &b);
    assert!((load.window_secs - 10.0).abs() < 1e-9);
    let by = |n: &str| load.domains.iter().find(|d| d.name == n).unwrap();
    assert!((by("db-1").cpu_share - 0.4).abs() < 1e-9, "8 s of 20");
    assert!((by("web-1").cpu_share - 0.025).abs() < 1e-9);
    assert!((by("Domain-0").cpu_share - 0.05).abs() < 1e-9);
    assert!((load.cpu_busy - 0.475).abs() < 1e-9);
    assert!((load.io_busy - 0.6).abs() < 1e-9);
    assert!((by("db-1").io_share - 0.6 * 39.0 / 40.0).abs() < 1e-9);
    assert!((by("web-1").tx_bps - 10_000_000.0).abs() < 1e-6);
    assert!((by("db-1").read_bps - 3_000_000.0).abs() < 1e-6);
}

#[test]
fn counters_that_go_backwards_and_new_domains_count_from_zero() {
    let a = sample(
        0.0,
        XL_LIST,
        &[(
            3,
            Traffic {
                read_bytes: 500,
                ..Traffic::default()
            },
        )],
        100,
    );
    // web-1 was re-created (its counters restarted), and disk time went backwards (a reboot).
    let later = XL_LIST.replace("6.2", "0.1");
    let b = sample(5.0, &later, &[(3, Traffic::default())], 50);
    let load = Load::between(&a, &b);
    let web = load.domains.iter().find(|d| d.name == "web-1").unwrap();
    assert_eq!((web.cpu_share, web.read_bps), (0.0, 0.0));
    assert_eq!(load.io_busy, 0.0);
}

#[test]
fn diskstats_busy_time_is_the_busiest_named_disk() {
    let text = "   8       0 sda 1 2 3 4 5 6 7 8 0 900 1000 0 0 0 0\n\
                   8      16 sdb 1 2 3 4 5 6 7 8 0 1500 1600 0 0 0 0\n\
                 253       0 dm-0 1 2 3 4 5 6 7 8 0 99999 1 0 0 0 0\n";
    assert_eq!(parse_diskstats_busy_ms(text, &["sda", "sdb"]), 1500);
    assert_eq!(parse_diskstats_busy_ms(text, &["vda"]), 0);
}
