//! Runs every figure several times, each run in a fresh child process (its own node,
//! its own allocator state), and prints the median with the spread:
//! `BENCH <name> <median> <unit> min=<v> max=<v>`.

use std::process::{Command, Stdio};

/// Runs per figure unless `ERGO_BENCH_RUNS` says otherwise.
const RUNS: usize = 5;

/// One child run: the group it is started with and the `BENCH` names it prints.
pub struct Figure {
    pub group: &'static str,
    pub names: &'static [&'static str],
}

/// Runs each figure of `figures` that `only` selects (a prefix of one of its names),
/// `RUNS` times as `<this program> <mode> <group>`, and prints the medians.
pub fn run(mode: &str, figures: &[Figure], only: Option<&str>) {
    let runs = std::env::var("ERGO_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or(RUNS);
    println!(
        "# nproc = {}; runs per figure = {runs}, each a fresh process",
        nproc()
    );
    println!("# load average before: {}", loadavg());
    let exe = std::env::current_exe().expect("own path");
    for figure in figures {
        let wanted = only.is_none_or(|o| figure.names.iter().any(|n| n.starts_with(o)));
        if !wanted {
            continue;
        }
        let mut results: Vec<(String, String, Vec<f64>)> = Vec::new();
        for _ in 0..runs {
            let out = Command::new(&exe)
                .args([mode, figure.group])
                .stderr(Stdio::inherit())
                .output()
                .expect("start a benchmark run");
            if !out.status.success() {
                eprintln!("run of {} failed: {}", figure.group, out.status);
                std::process::exit(1);
            }
            for (name, value, unit) in parse(&String::from_utf8_lossy(&out.stdout)) {
                match results.iter_mut().find(|(n, _, _)| *n == name) {
                    Some((_, _, values)) => values.push(value),
                    None => results.push((name, unit, vec![value])),
                }
            }
        }
        for (name, unit, values) in results {
            let (median, min, max) = summary(&values);
            let runs: Vec<String> = values.iter().map(|v| fmt(*v)).collect();
            println!("# {name} runs: {}", runs.join(" "));
            println!(
                "BENCH {name} {} {unit} min={} max={}",
                fmt(median),
                fmt(min),
                fmt(max)
            );
        }
    }
    println!("# load average after: {}", loadavg());
}

/// `BENCH <name> <value> <unit>` lines of one run.
fn parse(out: &str) -> Vec<(String, f64, String)> {
    out.lines()
        .filter_map(|line| {
            let mut words = line.strip_prefix("BENCH ")?.split_whitespace();
            let name = words.next()?.to_string();
            let value = words.next()?.parse().ok()?;
            let unit = words.next().unwrap_or("").to_string();
            Some((name, value, unit))
        })
        .collect()
}

/// Median, min and max.
fn summary(values: &[f64]) -> (f64, f64, f64) {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    };
    (median, sorted[0], sorted[n - 1])
}

fn fmt(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.3}")
    }
}

/// Available cores.
pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(summary(&[5.0, 1.0, 3.0, 2.0, 4.0]), (3.0, 1.0, 5.0));
        assert_eq!(summary(&[4.0, 1.0, 3.0, 2.0]), (2.5, 1.0, 4.0));
    }

    #[test]
    fn parses_bench_lines_only() {
        let out = "# workload\nBENCH local_1_1 123.5 msgs/s\nnoise\nBENCH x 2 us\n";
        assert_eq!(
            parse(out),
            vec![
                ("local_1_1".into(), 123.5, "msgs/s".into()),
                ("x".into(), 2.0, "us".into())
            ]
        );
    }
}
