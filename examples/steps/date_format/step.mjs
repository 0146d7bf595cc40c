// date.format: parse a date and time, move it to an IANA time zone, shift it and format it (dayjs).
import dayjs from "dayjs";
import timezone from "dayjs/plugin/timezone.js";
import utc from "dayjs/plugin/utc.js";

dayjs.extend(utc);
dayjs.extend(timezone);

function zoneOf(name, field) {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
  } catch {
    throw new RangeError(`${field}: '${name}' is not an IANA time zone name`);
  }
  return name;
}

export default async function formatDate(input, ctx) {
  const tz = zoneOf(input.tz ?? "UTC", "tz");
  const fromTz = zoneOf(input.from_tz ?? "UTC", "from_tz");
  // A "when" without an offset is local time in from_tz; one with an offset is that instant.
  const hasOffset = /(Z|[+-]\d{2}:?\d{2})$/i.test(input.when);
  let moment;
  try {
    moment = hasOffset ? dayjs(input.when) : dayjs.tz(input.when, fromTz);
  } catch {
    moment = dayjs(NaN);
  }
  if (!moment.isValid()) {
    throw new RangeError(`when: '${input.when}' is not an ISO 8601 date and time`);
  }
  moment = moment.tz(tz);
  for (const [unit, amount] of Object.entries(input.add ?? {})) {
    moment = moment.add(amount, unit);
  }
  ctx.log.info(`formatting ${moment.toISOString()} in ${tz}`);
  return {
    formatted: moment.format(input.format ?? "YYYY-MM-DD HH:mm"),
    iso: moment.format(),
    tz,
    utc_offset: moment.format("Z"),
    unix: moment.unix(),
    weekday: moment.format("dddd"),
  };
}
