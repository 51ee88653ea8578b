// The committed generated types match the service's OpenAPI document as the app makes it now.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

test("src/generated/openapi.ts is current (npm run generate)", () => {
  const script = fileURLToPath(new URL("../scripts/generate.mjs", import.meta.url));
  const out = execFileSync(process.execPath, [script, "--check"], { encoding: "utf8" });
  assert.match(out, /generated types are current/);
});
