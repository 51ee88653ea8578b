// Regenerates src/generated/openapi.ts from the service's OpenAPI document, made by the app
// itself (`create_app(settings).openapi()`, fixed settings: the document must not depend on
// a machine's environment) or read from a running server (`--url http://host:port`).
// `--check` writes nothing and exits 1 when the committed file differs (run by the tests).
import { execFileSync } from "node:child_process";
import { readFile, writeFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";

const here = fileURLToPath(new URL("..", import.meta.url));
const repo = join(here, "..", "..");
const target = join(here, "src", "generated", "openapi.ts");
const args = process.argv.slice(2);
const check = args.includes("--check");
const urlAt = args.indexOf("--url");

const DUMP = `
import json, sys
from mechamental.app import create_app
from mechamental.config import Settings
settings = Settings(_env_file=None, env="test", data_dir=sys.argv[1], secret_key="k" * 48)
print(json.dumps(create_app(settings).openapi()))
`;

async function documentFromApp() {
  const python = process.env.MECHAMENTAL_PYTHON ?? join(repo, ".venv", "bin", "python");
  const dir = await mkdtemp(join(tmpdir(), "mm-openapi-"));
  try {
    // Only this script's settings, not the caller's MECHAMENTAL_* variables.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith("MECHAMENTAL_")),
    );
    const out = execFileSync(python, ["-c", DUMP, dir], { env, maxBuffer: 64 << 20 });
    return JSON.parse(out.toString());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function documentFromServer(base) {
  const response = await fetch(new URL("/openapi.json", base));
  if (!response.ok) throw new Error(`GET /openapi.json: ${response.status}`);
  return response.json();
}

const doc = urlAt >= 0 ? await documentFromServer(args[urlAt + 1]) : await documentFromApp();
const ast = await openapiTS(doc, { alphabetize: true });
const text =
  "// Generated from the service's OpenAPI document by scripts/generate.mjs: do not edit.\n" +
  "// `npm run generate` after changing the API; the tests fail while this file is stale.\n" +
  astToString(ast);
if (check) {
  const committed = await readFile(target, "utf8").catch(() => "");
  if (committed !== text) {
    console.error(`${target} differs from the OpenAPI document: run \`npm run generate\``);
    process.exit(1);
  }
  console.log("generated types are current");
} else {
  await writeFile(target, text);
  console.log(`wrote ${target}`);
}
