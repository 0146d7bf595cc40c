// Builds the console into ../ui_api/console/static (served by the API at / and /console/).
// Deterministic: the same package-lock.json and sources give the same bytes (no timestamps, no
// hashes of absolute paths, no source maps). Run: `npm ci --ignore-scripts && npm run build`
// (or `make console` from the repository root). `node build.mjs DIR` builds into DIR instead.
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
// An optional argument builds elsewhere (the tests build twice and compare the bytes).
const out = process.argv[2] ? resolve(process.argv[2]) : join(here, "..", "ui_api", "console", "static");

// Third-party files served as they ship (the API docs pages load them from our origin).
const VENDOR = {
  "swagger-ui": ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui-dist/swagger-ui.css"],
  redoc: ["redoc/bundles/redoc.standalone.js"],
};

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
writeFileSync(join(out, "BUILT"), "stepwell console build output; do not edit, run `make console`\n");
