// Builds dist/: IIFE + ESM bundles, type declarations, a vendored video.js for the demo, and
// manifest.json with content hashes and gzipped sizes. Fails over the 20 kB gzip budget (3 kB per adapter).
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const BUDGET = 20 * 1024;
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));

rmSync(dist, { recursive: true, force: true });
mkdirSync(join(dist, "vendor"), { recursive: true });

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  target: ["es2020", "chrome90", "firefox90", "safari15"],
  define: { __VERSION__: JSON.stringify(pkg.version) },
  legalComments: "none",
  logLevel: "warning",
};
await build({ ...common, entryPoints: [join(here, "src/auto.ts")], format: "iife", outfile: join(dist, "avlabel-player.js") });
await build({ ...common, entryPoints: [join(here, "src/index.ts")], format: "esm", outfile: join(dist, "avlabel-player.mjs") });

// Streaming adapters: one small bundle each, using the page's plugin core (never a copy of it).
const ADAPTERS = { hls: "hlsAdapter", dash: "dashAdapter", shaka: "shakaAdapter", videojs: "videojsAdapter",
  native: "nativeAdapter" };
const ADAPTER_BUDGET = 3 * 1024;
mkdirSync(join(dist, "adapters"), { recursive: true });
for (const [name, factory] of Object.entries(ADAPTERS)) {
  const entry = join(here, `src/adapters/${name}.ts`);
  await build({ ...common, entryPoints: [entry], format: "esm", outfile: join(dist, `adapters/avlabel-${name}.mjs`) });
  await build({ ...common, format: "iife", outfile: join(dist, `adapters/avlabel-${name}.js`), stdin: {
    contents: `import { ${factory} } from "./${name}"; import { expose } from "./common"; expose("${name}", ${factory});`,
    resolveDir: join(here, "src/adapters"), loader: "ts" } });
}

// Type check everything and emit declarations; dist/avlabel-player.d.ts re-exports the public surface.
try {
  execFileSync(process.execPath, [join(here, "node_modules/typescript/bin/tsc"), "-p", here, "--emitDeclarationOnly",
    "--outDir", join(dist, "types")], { stdio: "inherit" });
} catch {
  console.error("type check failed");
  process.exit(1);
}
writeFileSync(join(dist, "avlabel-player.d.ts"), 'export * from "./types/index";\n');

// The demo page's video.js example is served from here: no CDN, no network.
const vjs = join(here, "node_modules/video.js/dist");
copyFileSync(join(vjs, "video.min.js"), join(dist, "vendor/video.min.js"));
copyFileSync(join(vjs, "video-js.min.css"), join(dist, "vendor/video-js.min.css"));

const manifest = { name: pkg.name, version: pkg.version, budget_gzip_bytes: BUDGET, files: {} };
let over = false;
const names = ["avlabel-player.js", "avlabel-player.mjs", "avlabel-player.d.ts",
  ...Object.keys(ADAPTERS).flatMap((a) => [`adapters/avlabel-${a}.js`, `adapters/avlabel-${a}.mjs`])];
for (const name of names) {
  const budget = name.startsWith("adapters/") ? ADAPTER_BUDGET : BUDGET;
  const bytes = readFileSync(join(dist, name));
  const text = bytes.toString("utf8");
  if (name !== "avlabel-player.d.ts" && /\beval\s*\(|new Function\s*\(/.test(text)) {
    console.error(`${name}: contains eval/new Function, which a strict CSP forbids`);
    process.exit(1);
  }
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const gzip = gzipSync(bytes, { level: 9 }).length;
  const hashed = name.replace(/\.(m?js|d\.ts)$/, `.${sha256.slice(0, 12)}.$1`);
  if (name.endsWith("js")) writeFileSync(join(dist, hashed), bytes);
  manifest.files[name] = { sha256, hash: sha256.slice(0, 12), hashed_name: hashed, bytes: bytes.length, gzip_bytes: gzip,
    budget_gzip_bytes: budget };
  const line = `${name.padEnd(30)} ${String(bytes.length).padStart(7)} B  ${String(gzip).padStart(6)} B gzipped`;
  if (name.endsWith("js") && gzip > budget) {
    console.error(`${line}  OVER the ${budget} B budget`);
    over = true;
  } else {
    console.log(`${line}${name.endsWith("js") ? `  (budget ${budget} B)` : ""}`);
  }
}
writeFileSync(join(dist, "manifest.json"), JSON.stringify(manifest, null, 2) + "\n");
if (over) process.exit(1);
