/** `npm pack`, install the tarball into an empty project, run docs/client.md's example. */

import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { REPO, type Server } from "./harness.js";

const run = promisify(execFile);
const PKG = resolve(REPO, "clients", "js");

function npm(args: string[], cwd: string) {
  const cli = process.env.npm_execpath;
  return cli && cli.endsWith(".js")
    ? run(process.execPath, [cli, ...args], { cwd, timeout: 60000 })
    : run("npm", args, { cwd, timeout: 60000 });
}

/** The first ```js block after `<!-- five-line example -->` in docs/client.md. */
export async function docsExample(): Promise<string> {
  const doc = await readFile(resolve(REPO, "docs", "client.md"), "utf8");
  const at = doc.indexOf("<!-- five-line example -->");
  if (at < 0) throw new Error("docs/client.md has no `<!-- five-line example -->` marker");
  const m = /```js\n([\s\S]*?)```/.exec(doc.slice(at));
  if (!m || m[1] === undefined) throw new Error("no ```js block after the marker");
  return m[1];
}

export async function packAndRunExample(server: Server): Promise<string> {
  const tmp = await mkdtemp(join(tmpdir(), "wsao-client-pack-"));
  try {
    const packed = await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", tmp], PKG);
    const info = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const tarball = join(tmp, info[0]!.filename);
    const files = info[0]!.files.map((f) => f.path);
    if (!files.includes("dist/index.js") || !files.includes("dist/index.d.ts")) {
      throw new Error(`the tarball lacks dist/: ${files.join(", ")}`);
    }
    if (files.some((f) => f.startsWith("src/") || f.startsWith("test/"))) throw new Error("the tarball holds sources");
    const project = join(tmp, "project");
    await run("mkdir", [project]);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "example", private: true, type: "module" }));
    // Offline: the package has no runtime dependencies; `ws` (for Node 20) is linked from here.
    await npm(
      ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball, join(PKG, "node_modules", "ws")],
      project,
    );
    const example = (await docsExample()).replaceAll("127.0.0.1:8000", `127.0.0.1:${server.port}`);
    await writeFile(join(project, "example.mjs"), example);
    const out = await run(process.execPath, ["example.mjs"], { cwd: project, timeout: 30000 });
    return out.stdout;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
