// Copies the Swagger UI and ReDoc bundles from node_modules (pinned by package-lock.json) into
// the Python package, so that /docs and /redoc are served by the service itself: no CDN, and a
// `pip install` needs no Node. tests/ui/test_docs_assets.py checks the copies match.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out =
  process.env.DOCS_ASSETS_OUT ?? join(here, "..", "..", "src", "mechamental", "static", "docs");
const FILES = {
  "swagger-ui-dist/swagger-ui-bundle.js": "swagger-ui-bundle.js",
  "swagger-ui-dist/swagger-ui.css": "swagger-ui.css",
  "swagger-ui-dist/favicon-32x32.png": "favicon-32x32.png",
  "swagger-ui-dist/LICENSE": "swagger-ui.LICENSE",
  "redoc/bundles/redoc.standalone.js": "redoc.standalone.js",
  "redoc/LICENSE": "redoc.LICENSE",
};
mkdirSync(out, { recursive: true });
for (const [src, dst] of Object.entries(FILES)) {
  copyFileSync(join(here, "node_modules", src), join(out, dst));
}

// ReDoc's sidebar shows a logo from cdn.redoc.ly: the one request to another host. An empty
// image in its place fails to load, and ReDoc then hides it (its own onError).
const redoc = join(out, "redoc.standalone.js");
const remote = "https://cdn.redoc.ly/redoc/logo-mini.svg";
const text = readFileSync(redoc, "utf8");
if (!text.includes(remote)) throw new Error(`${remote} not found in the ReDoc bundle`);
writeFileSync(redoc, text.replaceAll(remote, "data:image/svg+xml,"));
