// Builds the console into ../ui_api/console/static (served by the API at / and /console/).
// Deterministic: the same package-lock.json and sources give the same bytes (no timestamps, no
// hashes of absolute paths, no source maps). Run: `npm ci --ignore-scripts && npm run build`
// (or `make console` from the repository root). `node build.mjs DIR` builds into DIR instead.
import { build } from "esbuild";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// An optional argument builds elsewhere (the tests build twice and compare the bytes).
const out = process.argv[2]
  ? resolve(process.argv[2])
  : join(here, "..", "ui_api", "console", "static");

// Third-party files for /docs (Swagger UI) and /redoc, served from our origin as they ship,
// into vendor/<folder>/ (public/docs.html and public/redoc.html name them there).
const VENDOR = {
  "swagger-ui": ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"],
  redoc: ["redoc/bundles/redoc.standalone.js"],
};

// The one change made to a vendor file. Redoc's side menu shows a logo that its bundle loads
// from Redocly's CDN, hard-coded and with no option to turn it off; the CSP would block it, but
// the page would still try (a request to another origin, a CSP violation). An empty src makes
// the <img> fail at once, and Redoc's own onError handler then drops the logo. A new Redoc
// that changes that code fails the build here rather than silently loading the CDN again.
const VENDOR_PATCHES = [
  {
    file: "redoc/redoc.standalone.js",
    find: 'src:"https://cdn.redoc.ly/redoc/logo-mini.svg"',
    replace: 'src:""',
  },
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { app: join(here, "src", "main.tsx") },
  outdir: out,
  bundle: true,
  format: "esm",
  target: "es2022",
  minify: true,
  sourcemap: false,
  legalComments: "linked",
  charset: "utf8",
  jsx: "automatic",
  define: { "process.env.NODE_ENV": '"production"' },
  loader: { ".svg": "file" },
  logLevel: "warning",
});

cpSync(join(here, "public"), out, { recursive: true });
for (const [folder, files] of Object.entries(VENDOR)) {
  mkdirSync(join(out, "vendor", folder), { recursive: true });
  for (const file of files) {
    const name = file.split("/").pop();
    cpSync(join(here, "node_modules", file), join(out, "vendor", folder, name));
  }
}
for (const { file, find, replace } of VENDOR_PATCHES) {
  const path = join(out, "vendor", file);
  const text = readFileSync(path, "utf8");
  const found = text.split(find).length - 1;
  if (found !== 1) {
    throw new Error(`vendor/${file}: expected '${find}' once, found it ${found} times`);
  }
  writeFileSync(path, text.replace(find, replace));
}
writeFileSync(
  join(out, "BUILT"),
  "stepwell console build output; do not edit, run `make console`\n",
);
