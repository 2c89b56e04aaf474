//! One job's timetable: a cron spec (croner) read in a time zone (chrono-tz), and the
//! next instant it fires after a given one, with the daylight-saving rules below.
//!
//! # Daylight saving time
//!
//! Specs are read on the wall clock of the job's time zone:
//!
//! - **A time that does not exist** (spring forward, 02:30 in a gap from 02:00 to
//!   03:00) fires at the first instant after the gap (03:00), once, however many
//!   matching times fell into the gap.
//! - **A time that occurs twice** (fall back, 01:30 when 02:00 goes back to 01:00)
//!   fires once, at its first occurrence: when the wall clock is set back, the times it
//!   already showed are not fired again (a job every minute pauses for the repeated
//!   hour). A job whose first chance comes during the repeated hour (it was added or
//!   enabled then) fires at the second occurrence.
//! - Time zones without daylight saving (UTC, the default) have neither case.

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

use super::CronError;

/// A parsed cron spec in a time zone.
#[derive(Clone, Debug)]
pub struct Schedule {
    spec: String,
    cron: croner::Cron,
    tz: Tz,
}

impl Schedule {
    /// Parses `spec`: 5 fields (minutes), 6 fields (seconds first), or a macro
    /// (`@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
    /// `@hourly`). Fields take lists, ranges, steps, names (`MON`, `JAN`), `L` (last
    /// day of the month; `5#L` the last Friday), `d#n` (`1#2`: the second Monday) and
    /// `W` (nearest weekday). Day of month and day of week are or-ed, as in Vixie cron.
    pub fn parse(spec: &str, tz: Tz) -> Result<Schedule, CronError> {
        let pattern = match spec.trim() {
            s if s.eq_ignore_ascii_case("@midnight") => "@daily",
            s => s,
        };
        let cron = croner::Cron::new(pattern)
            .with_seconds_optional()
            .parse()
            .map_err(|e| CronError::BadSpec(spec.to_owned(), format!("{e:?}")))?;
        Ok(Schedule {
            spec: spec.to_owned(),
            cron,
            tz,
        })
    }

    /// The spec as given.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The time zone.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// The first instant strictly after `after` when the job fires; `None` if it never
    /// does again (a spec that matches no date, such as February 30).
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let mut from = after.with_timezone(&self.tz);
        // A few rounds at most: each round passes one ambiguous wall-clock time.
        for _ in 0..8 {
            let candidate = self.cron.find_next_occurrence(&from, false).ok()?;
            let utc = candidate.with_timezone(&Utc);
            if utc > after {
                return Some(utc);
            }
            // croner maps a repeated wall-clock time to its first occurrence, which is
            // already past: the second occurrence, if that is still ahead.
            if let Some(later) = self
                .tz
                .from_local_datetime(&candidate.naive_local())
                .latest()
            {
                if later.with_timezone(&Utc) > after {
                    return Some(later.with_timezone(&Utc));
                }
            }
            from = candidate;
        }
        None
    }
}
