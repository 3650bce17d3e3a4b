package opsc.lib.timestamp_test

import data.opsc.lib.timestamp

test_epoch_seconds_matches_go_parser if {
	every ts in [
		"1970-01-01T00:00:00Z",
		"1999-12-31T23:59:59Z",
		"2000-02-29T12:00:00Z",
		"2000-03-01T00:00:00Z",
		"2024-02-29T23:59:59Z",
		"2026-11-24T00:00:00Z",
		"2027-10-31T00:00:00Z",
		"2100-02-28T08:30:15Z",
	] {
		timestamp.epoch_seconds(ts) == time.parse_rfc3339_ns(ts) / 1000000000
	}
}

test_epoch_seconds_counts_leap_day_of_2400 if {
	# beyond the nanosecond range of time.parse_rfc3339_ns (year 2262)
	timestamp.epoch_seconds("2400-03-01T00:00:00Z") - timestamp.epoch_seconds("2400-02-28T00:00:00Z") == 2 * 86400
}

test_epoch_seconds_ignores_fraction if {
	timestamp.epoch_seconds("2026-11-24T10:20:30.999Z") == timestamp.epoch_seconds("2026-11-24T10:20:30Z")
}

test_epoch_seconds_undefined_for_non_timestamps if {
	every ts in [
		"",
		"2026-11-24",
		"2026-11-24T00:00:00",
		"2026-11-24T00:00:00+01:00",
		"2026-13-01T00:00:00Z",
		"2026-00-10T00:00:00Z",
		"2026-02-29T00:00:00Z",
		"2100-02-29T00:00:00Z",
		"2026-04-31T00:00:00Z",
		"2026-11-00T00:00:00Z",
		"2026-11-24T24:00:00Z",
		"2026-11-24T00:60:00Z",
		"2026-11-24T00:00:60Z",
	] {
		not timestamp.epoch_seconds(ts)
	}
}
