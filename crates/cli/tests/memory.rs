//! Memory bounds against boards that never stop sending, measured on the `metal` process
//! itself (its peak resident set from `wait4`). Alone in its test binary, so no other test's
//! children share the measurement.

use metal_test_support::loopback::Block;
use metal_test_support::metal::Metal;
use metal_test_support::sim::SimProcess;

const BIN: &str = env!("CARGO_BIN_EXE_metal");
const PASSWORD: &str = "Mem0ry!pw";

#[test]
fn an_endless_enumeration_ends_in_an_error_within_100_mb() {
    let block = Block::allocate();
    let board = block.ip(1);
    // Every Pull: one item of 4 MB and a fresh context, forever.
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(1)
        .args([
            "--fault".to_string(),
            format!("{board}=endless-pull:4000000"),
        ])
        .start();
    let metal = Metal::new(BIN).password(PASSWORD);
    let (code, out, err) = metal.run(&["show", &board.to_string()]);
    assert_eq!(code, 3, "the board failed: {out}{err}");
    assert!(
        err.contains(&board.to_string()) && err.contains("refused"),
        "{err}"
    );
    let (code, peak_kib) = metal.command(["show", &board.to_string()]).peak_rss();
    assert_eq!(code, 3);
    eprintln!("metal show, endless enumeration: peak RSS {peak_kib} KiB");
    assert!(peak_kib < 100 * 1024, "peak RSS {peak_kib} KiB");
}

#[test]
fn many_hostile_boards_at_once_stay_within_the_memory_pool() {
    let block = Block::allocate();
    let boards = 64;
    let mut args = Vec::new();
    for n in 1..=boards {
        args.push("--fault".to_string());
        args.push(format!("{}=endless-pull:500000", block.ip(n)));
    }
    let _sim = SimProcess::builder(BIN, PASSWORD, block.first())
        .boards(boards as usize)
        .args(args)
        .start();
    let metal = Metal::new(BIN).password(PASSWORD);
    // Enrolment reads every board's hardware at once.
    let (code, out, err) = metal.run(&["enroll", &block.list(boards), "--rack", "r01"]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        out.matches("refused").count() >= boards as usize,
        "every board refused: {out}"
    );
    let (code, peak_kib) = metal
        .command(["enroll", &block.list(boards), "--rack", "r01"])
        .peak_rss();
    assert_ne!(code, 0);
    eprintln!("metal enroll, {boards} endless boards: peak RSS {peak_kib} KiB");
    assert!(
        peak_kib < 400 * 1024,
        "peak RSS {peak_kib} KiB for {boards} hostile boards"
    );
}
