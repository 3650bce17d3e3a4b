# METADATA
# title: Timestamps
# description: >-
#   Seconds since the Unix epoch of an RFC 3339 UTC timestamp, computed in Rego. The wasm SDK
#   (@open-policy-agent/opa-wasm) has no time.parse_rfc3339_ns, so the bundle cannot call it;
#   the tests check this function against it. The policies never read the clock: "now" is input.
# custom:
#   severity: none
package opsc.lib.timestamp

# Seconds since 1970-01-01T00:00:00Z of `ts` ("YYYY-MM-DDTHH:MM:SSZ", an optional fraction of a
# second is ignored); undefined when `ts` is not such a timestamp or not a real date and time.
epoch_seconds(ts) := seconds if {
	regex.match(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$`, ts)
	year := to_number(substring(ts, 0, 4))
	month := to_number(substring(ts, 5, 2))
	day := to_number(substring(ts, 8, 2))
	hour := to_number(substring(ts, 11, 2))
	minute := to_number(substring(ts, 14, 2))
	second := to_number(substring(ts, 17, 2))
	month >= 1
	month <= 12
	day >= 1
	day <= days_in_month(year, month)
	hour <= 23
	minute <= 59
	second <= 59
	seconds := (((((days_from_civil(year, month, day) * 24) + hour) * 60) + minute) * 60) + second
}

# Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
days_from_civil(year, month, day) := days if {
	shifted := march_year(year, month)
	era := floor(shifted / 400)
	year_of_era := shifted - (era * 400)
	day_of_year := (floor(((153 * ((month + 9) % 12)) + 2) / 5) + day) - 1
	day_of_era := (((year_of_era * 365) + floor(year_of_era / 4)) - floor(year_of_era / 100)) + day_of_year
	days := ((era * 146097) + day_of_era) - 719468
}

# Years counted from March, so that the leap day is the last day of the year.
march_year(year, month) := year - 1 if month <= 2

march_year(year, month) := year if month > 2

days_in_month(year, 2) := 29 if leap_year(year)

days_in_month(year, 2) := 28 if not leap_year(year)

days_in_month(_, month) := 30 if month in {4, 6, 9, 11}

days_in_month(_, month) := 31 if month in {1, 3, 5, 7, 8, 10, 12}

leap_year(year) if {
	year % 4 == 0
	year % 100 != 0
}

leap_year(year) if year % 400 == 0
