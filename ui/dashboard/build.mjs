// Builds the dashboard into src/mechamental/static/ui (committed: `make run` needs no Node):
// index.html and style.css copied, dashboard.js one esbuild bundle of src/main.ts and the
// TypeScript client's sources (clients/typescript/src). `make ui` runs it after either
// changes; tests/ui/test_dashboard_assets.py rebuilds into a temporary folder (UI_ASSETS_OUT)
// and fails when the committed files differ.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = process.env.UI_ASSETS_OUT ?? join(here, "..", "..", "src", "mechamental", "static", "ui");
mkdirSync(out, { recursive: true });
copyFileSync(join(here, "index.html"), join(out, "index.html"));
copyFileSync(join(here, "style.css"), join(out, "style.css"));
await build({
  entryPoints: [join(here, "src", "main.ts")],
  outfile: join(out, "dashboard.js"),
  bundle: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  charset: "utf8",
  legalComments: "none",
  // Paths in the bundle's comments are relative to here: the same bytes from any checkout.
  absWorkingDir: here,
  banner: { js: "// Built by ui/dashboard/build.mjs (make ui) from ui/dashboard/src and clients/typescript/src: do not edit." },
  logLevel: "warning",
});
