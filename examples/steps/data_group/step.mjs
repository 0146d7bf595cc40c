// data.group: group records by a field and aggregate each group: count, sum, mean, min, max (lodash).
import _ from "lodash";

export default async function group(input, ctx) {
  const { items, by, value } = input;
  const groups = _.groupBy(items, (item) => {
    const key = _.get(item, by);
    return key === undefined || key === null ? "(none)" : String(key);
  });
  const rows = _.map(groups, (members, key) => {
    const row = { key, count: members.length };
    if (value) {
      const numbers = members.map((item) => _.get(item, value)).filter(_.isFinite);
      row.sum = _.round(_.sum(numbers), 6);
      row.mean = numbers.length ? _.round(_.mean(numbers), 6) : null;
      row.min = numbers.length ? _.min(numbers) : null;
      row.max = numbers.length ? _.max(numbers) : null;
    }
    return row;
  });
  const order = input.order ?? "key";
  const sorted = order === "key" ? _.sortBy(rows, "key") : _.orderBy(rows, [order, "key"], ["desc", "asc"]);
  ctx.log.info(`${items.length} items in ${rows.length} groups`);
  return { groups: sorted.slice(0, input.limit ?? sorted.length), total: items.length };
}
