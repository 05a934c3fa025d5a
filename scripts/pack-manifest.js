#!/usr/bin/env node
/**
 * `npm pack` / `npm publish` only. `strip` (prepack, after the build):
 * - the package.json that goes into the tarball leaves out `prepare`, so installing the package shows no install
 *   script to approve (npm 11 lists `prepare`, though it never runs it for a tarball);
 * - the component's TypeScript sources that ship for Pulumi's schema analyzer go without comments, except the files
 *   whose doc comments become the schema's descriptions (types.ts, rayS3Access.ts) and the package entry, which lose
 *   only their line comments.
 * - with a `repository` in package.json, the README's links into docs/ (which does not ship) become absolute links to
 *   that repository at the version's tag, and `homepage` / `bugs` are derived from it where they are not set;
 *   without one, the links stay relative and the pack says so.
 * The originals are kept under .pack-backup/; `restore` (postpack, and first thing in prepack after an interrupted
 * pack) puts them back. A clone still builds on `npm ci`, and a git-URL install through `prepare`.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- a plain Node.js script, run before anything is compiled */
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const backup = path.join(root, ".pack-backup");
const manifest = path.join(root, "package.json");
/** Their comments are the schema's descriptions and the editor's documentation. */
const KEEP_COMMENTS = new Set(["components/types.ts", "components/rayS3Access.ts", "components/index.ts"]);

function shippedSources() {
    return ["components", "components/validation"].flatMap((dir) =>
        fs
            .readdirSync(path.join(root, dir))
            .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
            .map((f) => `${dir}/${f}`),
    );
}

function save(relative) {
    const target = path.join(backup, relative);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (!fs.existsSync(target)) fs.copyFileSync(path.join(root, relative), target);
}

function restore() {
    if (!fs.existsSync(backup)) return;
    const walk = (dir) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const file = path.join(dir, entry.name);
            if (entry.isDirectory()) walk(file);
            else fs.copyFileSync(file, path.join(root, path.relative(backup, file)));
        }
    };
    walk(backup);
    fs.rmSync(backup, { recursive: true, force: true });
}

/** The text without its whole-line `//` comments; lines inside string and template literals stay. */
function withoutLineComments(ts, file, text) {
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
    const literals = [];
    const visit = (node) => {
        if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node))
            literals.push([node.getStart(source), node.end]);
        ts.forEachChild(node, visit);
    };
    visit(source);
    const kept = [];
    let offset = 0;
    for (const line of text.split("\n")) {
        const inLiteral = literals.some(([start, end]) => offset > start && offset < end);
        if (inLiteral || !/^\s*\/\/(?!\/)/.test(line)) kept.push(line);
        offset += line.length + 1;
    }
    return kept.join("\n");
}

/** package.json's `repository` as npm reads it (hosted-git-info: GitHub, GitLab, Bitbucket, ...), or undefined. */
function repositoryOf(pkg) {
    const url = typeof pkg.repository === "string" ? pkg.repository : pkg.repository && pkg.repository.url;
    return url ? require("hosted-git-info").fromUrl(url) : undefined;
}

/**
 * The README as it ships: links into docs/ made absolute at the version's tag, or unchanged without a repository.
 * Returns the text and how many links changed.
 */
function readmeForPackage(readme, pkg) {
    const repo = repositoryOf(pkg);
    if (!repo) return { text: readme, changed: 0 };
    let changed = 0;
    const text = readme.replace(/\]\((docs\/[^)\s#]+)(?:#([^)\s]*))?\)/g, (_whole, file, anchor) => {
        changed++;
        const tag = { committish: `v${pkg.version}` };
        // browseFile takes its options second when there is no fragment.
        return `](${anchor === undefined ? repo.browseFile(file, tag) : repo.browseFile(file, anchor, tag)})`;
    });
    return { text, changed };
}

/** package.json as it ships: no `prepare`; `homepage` and `bugs` from the repository where they are missing. */
function manifestForPackage(pkg) {
    const shipped = JSON.parse(JSON.stringify(pkg));
    delete shipped.scripts.prepare;
    const repo = repositoryOf(pkg);
    if (repo) {
        shipped.homepage ??= repo.docs({ noCommittish: true });
        shipped.bugs ??= { url: repo.bugs() };
    }
    return shipped;
}

module.exports = { readmeForPackage, manifestForPackage };

if (require.main !== module) {
    // Required by the tests for the functions above.
} else if (process.argv[2] === "strip") {
    restore();
    const ts = require("typescript");
    save("package.json");
    const parsed = JSON.parse(fs.readFileSync(manifest, "utf8"));
    fs.writeFileSync(manifest, `${JSON.stringify(manifestForPackage(parsed), null, 2)}\n`);
    const readme = readmeForPackage(fs.readFileSync(path.join(root, "README.md"), "utf8"), parsed);
    if (readme.changed > 0) {
        save("README.md");
        fs.writeFileSync(path.join(root, "README.md"), readme.text);
        process.stderr.write(
            `README: ${readme.changed} links into docs/ point at ${repositoryOf(parsed).browse({ noCommittish: true })} (v${parsed.version})\n`,
        );
    } else if (!repositoryOf(parsed)) {
        process.stderr.write("README: package.json has no repository, so its links into docs/ stay relative (docs/ does not ship)\n");
    }
    // The printer keeps the code and its types exactly (the analyzer type-checks them) and drops the comments.
    const printer = ts.createPrinter({ removeComments: true });
    let saved = 0;
    for (const relative of shippedSources().filter((f) => !KEEP_COMMENTS.has(f))) {
        const file = path.join(root, relative);
        const text = fs.readFileSync(file, "utf8");
        const stripped = printer.printFile(ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS));
        save(relative);
        fs.writeFileSync(file, stripped);
        saved += text.length - stripped.length;
    }
    // The files whose doc comments the analyzer reads lose only their line comments (`// ...` on a line of its own,
    // outside any string or template literal).
    for (const relative of shippedSources().filter((f) => KEEP_COMMENTS.has(f))) {
        const file = path.join(root, relative);
        const text = fs.readFileSync(file, "utf8");
        const stripped = withoutLineComments(ts, file, text);
        if (stripped === text) continue;
        save(relative);
        fs.writeFileSync(file, stripped);
        saved += text.length - stripped.length;
    }
    process.stderr.write(`component sources without comments: ${saved} bytes less\n`);
} else if (process.argv[2] === "restore") {
    restore();
} else {
    console.error("usage: pack-manifest.js strip|restore");
    process.exit(2);
}
