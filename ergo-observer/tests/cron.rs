//! Cron: 6-field specs, macros, `L`, `d#n`, time zones and daylight saving, read as
//! pure timetables; and the scheduler firing on a hand-moved clock, at the right
//! instants, across a daylight-saving change.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use ergo_observer::clock::ManualClock;
use ergo_observer::cron::{Action, Cron, CronError, Schedule};
use ergo_runtime::Node;
use parking_lot::Mutex;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a valid RFC 3339 time")
        .with_timezone(&Utc)
}

/// The next `n` instants after `from`.
fn next_n(spec: &str, tz: Tz, from: &str, n: usize) -> Vec<String> {
    let schedule = Schedule::parse(spec, tz).expect("a valid spec");
    let mut at = utc(from);
    let mut out = Vec::new();
    for _ in 0..n {
        at = schedule.next_after(at).expect("fires again");
        out.push(at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    }
    out
}

#[test]
fn six_fields_have_second_resolution() {
    assert_eq!(
        next_n("*/15 * * * * *", Tz::UTC, "2026-05-01T10:00:07Z", 3),
        [
            "2026-05-01T10:00:15Z",
            "2026-05-01T10:00:30Z",
            "2026-05-01T10:00:45Z"
        ]
    );
    // Five fields: minutes, second 0.
    assert_eq!(
        next_n("5 * * * *", Tz::UTC, "2026-05-01T10:05:00Z", 2),
        ["2026-05-01T11:05:00Z", "2026-05-01T12:05:00Z"]
    );
}

#[test]
fn macros() {
    let from = "2026-05-13T10:20:00Z"; // a Wednesday
    assert_eq!(
        next_n("@hourly", Tz::UTC, from, 1),
        ["2026-05-13T11:00:00Z"]
    );
    assert_eq!(next_n("@daily", Tz::UTC, from, 1), ["2026-05-14T00:00:00Z"]);
    assert_eq!(
        next_n("@midnight", Tz::UTC, from, 1),
        ["2026-05-14T00:00:00Z"]
    );
    assert_eq!(
        next_n("@weekly", Tz::UTC, from, 1),
        ["2026-05-17T00:00:00Z"]
    );
    assert_eq!(
        next_n("@monthly", Tz::UTC, from, 1),
        ["2026-06-01T00:00:00Z"]
    );
    assert_eq!(
        next_n("@yearly", Tz::UTC, from, 1),
        ["2027-01-01T00:00:00Z"]
    );
}

#[test]
fn last_day_of_month_and_nth_weekday() {
    // L: the last day, leap years included.
    assert_eq!(
        next_n("0 0 12 L * *", Tz::UTC, "2024-02-10T00:00:00Z", 3),
        [
            "2024-02-29T12:00:00Z",
            "2024-03-31T12:00:00Z",
            "2024-04-30T12:00:00Z"
        ]
    );
    // 1#2: the second Monday.
    assert_eq!(
        next_n("0 0 9 * * 1#2", Tz::UTC, "2026-11-01T00:00:00Z", 2),
        ["2026-11-09T09:00:00Z", "2026-12-14T09:00:00Z"]
    );
    // 5#L: the last Friday.
    assert_eq!(
        next_n("0 0 18 * * 5#L", Tz::UTC, "2026-11-01T00:00:00Z", 2),
        ["2026-11-27T18:00:00Z", "2026-12-25T18:00:00Z"]
    );
}

#[test]
fn bad_specs_and_zones_are_refused() {
    assert!(matches!(
        Schedule::parse("61 * * * * *", Tz::UTC),
        Err(CronError::BadSpec(..))
    ));
    assert!(matches!(
        Schedule::parse("not a spec", Tz::UTC),
        Err(CronError::BadSpec(..))
    ));
    assert!(matches!(
        Cron::time_zone("Mars/Olympus_Mons"),
        Err(CronError::BadTimeZone(_))
    ));
    assert_eq!(
        Cron::time_zone("Europe/Paris"),
        Ok(chrono_tz::Europe::Paris)
    );
}

#[test]
fn time_zones_shift_the_wall_clock() {
    // 09:00 in Paris is 07:00 UTC in summer, 08:00 UTC in winter.
    let paris = chrono_tz::Europe::Paris;
    assert_eq!(
        next_n("0 0 9 * * *", paris, "2026-07-01T12:00:00Z", 1),
        ["2026-07-02T07:00:00Z"]
    );
    assert_eq!(
        next_n("0 0 9 * * *", paris, "2026-12-01T12:00:00Z", 1),
        ["2026-12-02T08:00:00Z"]
    );
}

const NEW_YORK: Tz = chrono_tz::America::New_York;

#[test]
fn spring_forward_fires_a_missing_time_after_the_gap() {
    // 2026-03-08: 02:00 EST becomes 03:00 EDT. 02:30 does not exist that day: it fires
    // at 03:00 EDT (07:00 UTC); the next day at 02:30 EDT (06:30 UTC).
    assert_eq!(
        next_n("0 30 2 * * *", NEW_YORK, "2026-03-07T17:00:00Z", 3),
        [
            "2026-03-08T07:00:00Z",
            "2026-03-09T06:30:00Z",
            "2026-03-10T06:30:00Z"
        ]
    );
    // Every 20 minutes: the gap's times collapse into one firing at 03:00 EDT.
    assert_eq!(
        next_n("0 */20 * * * *", NEW_YORK, "2026-03-08T06:30:00Z", 3),
        [
            "2026-03-08T06:40:00Z",
            "2026-03-08T07:00:00Z",
            "2026-03-08T07:20:00Z"
        ]
    );
}

#[test]
fn fall_back_fires_a_repeated_time_once() {
    // 2026-11-01: 02:00 EDT becomes 01:00 EST; 01:00..02:00 occurs twice. 01:30 fires
    // at its first occurrence (EDT, 05:30 UTC) only; the next day at 01:30 EST.
    assert_eq!(
        next_n("0 30 1 * * *", NEW_YORK, "2026-10-31T16:00:00Z", 2),
        ["2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"]
    );
    // Hourly: 01:00 EDT, then 02:00 EST; the repeated 01:00 EST is not fired again.
    assert_eq!(
        next_n("0 0 * * * *", NEW_YORK, "2026-11-01T04:30:00Z", 3),
        [
            "2026-11-01T05:00:00Z",
            "2026-11-01T07:00:00Z",
            "2026-11-01T08:00:00Z"
        ]
    );
    // A job first scheduled during the repeated hour fires at the second occurrence.
    assert_eq!(
        next_n("0 30 1 * * *", NEW_YORK, "2026-11-01T06:10:00Z", 1),
        ["2026-11-01T06:30:00Z"]
    );
}

/// Waits (bounded) until the scheduler has handled every instant up to the clock's
/// time: each enabled job's next instant is then ahead of it.
async fn settled(cron: &Cron, clock: &ManualClock) {
    use ergo_observer::clock::Clock;
    for _ in 0..2000 {
        let now = clock.now();
        if cron
            .jobs()
            .iter()
            .filter(|j| j.enabled)
            .all(|j| j.next.is_none_or(|n| n > now))
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("the scheduler did not catch up with the clock");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scheduler_fires_at_the_right_instants_on_a_moved_clock() {
    let node = Node::builder("cron@127.0.0.1").start().await.unwrap();
    // 00:50 EDT on the day the clocks go back.
    let clock = ManualClock::new(utc("2026-11-01T04:50:00Z"));
    let cron = Cron::start(&node, Arc::new(clock.clone()));
    let ny: Arc<Mutex<Vec<String>>> = Arc::default();
    let plain: Arc<Mutex<Vec<String>>> = Arc::default();
    let record = |fired: &Arc<Mutex<Vec<String>>>| {
        let fired = fired.clone();
        Action::run(move |_, at| {
            fired.lock().push(at.format("%H:%M:%S").to_string());
            Ok(())
        })
    };
    cron.add_in("half-hourly", "0 */30 * * * *", NEW_YORK, record(&ny))
        .unwrap();
    cron.add("quarters", "0 0/45 * * * *", record(&plain))
        .unwrap();
    assert_eq!(
        cron.add("quarters", "@hourly", record(&plain)),
        Err(CronError::Duplicate("quarters".into()))
    );

    // Ten-minute steps to 07:40 UTC.
    for _ in 0..17 {
        clock.advance(Duration::from_secs(600));
        settled(&cron, &clock).await;
    }
    // New York: 01:00 and 01:30 EDT, then 02:00 and 02:30 EST; the repeated 01:00 and
    // 01:30 EST are not fired again.
    assert_eq!(*ny.lock(), ["05:00:00", "05:30:00", "07:00:00", "07:30:00"]);
    assert_eq!(
        *plain.lock(),
        ["05:00:00", "05:45:00", "06:00:00", "06:45:00", "07:00:00"]
    );

    // Disabled, it does not fire; enabled again, it fires from then on; removed, never.
    cron.set_enabled("quarters", false).unwrap();
    clock.advance(Duration::from_secs(3600)); // 08:40
    settled(&cron, &clock).await;
    assert_eq!(plain.lock().len(), 5);
    cron.set_enabled("quarters", true).unwrap();
    clock.advance(Duration::from_secs(600)); // 08:50
    settled(&cron, &clock).await;
    assert_eq!(plain.lock().last().map(String::as_str), Some("08:45:00"));
    cron.remove("quarters").unwrap();
    assert_eq!(
        cron.remove("quarters"),
        Err(CronError::NoJob("quarters".into()))
    );
    clock.advance(Duration::from_secs(3600));
    settled(&cron, &clock).await;
    assert_eq!(plain.lock().len(), 6);

    // A jump over many instants fires once, for the first one missed.
    let before = ny.lock().len();
    clock.advance(Duration::from_secs(5 * 3600));
    settled(&cron, &clock).await;
    assert_eq!(ny.lock().len(), before + 1);
    node.stop().await.unwrap();
}
