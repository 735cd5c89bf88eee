// Copies the compiled ES modules (dist/*.js) to app/static/vendor/wsao-client/, where
// the demo's chat page loads them (`python -m app` runs no npm build). `npm run vendor`;
// tests/app/test_static_vendor.py checks that the copy is a fresh build's output.
import { copyFileSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "..", "dist");
const target = join(here, "..", "..", "..", "app", "static", "vendor", "wsao-client");
rmSync(target, { recursive: true, force: true });
mkdirSync(target, { recursive: true });
for (const name of readdirSync(dist).filter((n) => n.endsWith(".js")).sort()) {
  copyFileSync(join(dist, name), join(target, name));
}
