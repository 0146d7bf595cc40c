// html.extract: the title, the links and the text of chosen elements of an HTML page (cheerio).
import { load } from "cheerio";

function absolute(href, base) {
  if (!base) return href;
  try {
    return new URL(href, base).href;
  } catch {
    return href;
  }
}

const clean = (text) => text.replace(/\s+/g, " ").trim();

export default async function extract(input, ctx) {
  const $ = load(input.html);
  const links = [];
  $("a[href]").each((_, element) => {
    const href = $(element).attr("href").trim();
    if (href && !href.startsWith("#") && !/^javascript:/i.test(href)) {
      links.push({ text: clean($(element).text()), href: absolute(href, input.base_url) });
    }
  });
  const selected = {};
  for (const [name, selector] of Object.entries(input.select ?? {})) {
    try {
      selected[name] = $(selector).map((_, element) => clean($(element).text())).get();
    } catch (error) {
      throw new SyntaxError(`select/${name}: '${selector}' is not a CSS selector (${error.message})`);
    }
  }
  ctx.log.info(`${links.length} links, ${Object.keys(selected).length} selections`);
  return {
    title: clean($("title").first().text()) || null,
    description: $('meta[name="description"]').attr("content") ?? null,
    headings: $("h1, h2").map((_, element) => clean($(element).text())).get(),
    links: links.slice(0, input.max_links ?? 100),
    selected,
  };
}
