/**
 * Making directories and writing files for the runner's outputs (`render --out`, reports, `fleet emit`, the local
 * backend and workspaces), so that a bad path is an error that names it rather than a hang.
 */
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "./errors";

/**
 * `mkdir -p` that always ends. Node's recursive mkdir spins forever, at full CPU, where a parent exists but cannot
 * hold children: under /proc, or below a dangling symlink (mkdir answers ENOENT for the child, EEXIST for the parent,
 * and Node retries; seen with Node 20). This creates one level at a time from the nearest existing ancestor, so each
 * error is final: ENOENT, EEXIST (a dangling symlink), ENOTDIR (a file), EACCES.
 */
export function makeDirectory(dir: string): void {
    const missing: string[] = [];
    for (let at = path.resolve(dir); !fs.existsSync(at); at = path.dirname(at)) {
        missing.push(at);
        if (path.dirname(at) === at) break;
    }
    for (const level of missing.reverse()) {
        try {
            fs.mkdirSync(level);
        } catch (error) {
            // Made by someone else meanwhile: as good as made here.
            if ((error as NodeJS.ErrnoException).code !== "EEXIST" || !fs.statSync(level, { throwIfNoEntry: false })?.isDirectory()) throw error;
        }
    }
}

/** Writes a file whole or not at all (its directory made as needed): a CI step or a reader never sees half of it. */
export function writeWhole(file: string, text: string): void {
    const target = path.resolve(file);
    const temporary = `${target}.tmp-${process.pid}`;
    try {
        makeDirectory(path.dirname(target));
        fs.writeFileSync(temporary, text);
        fs.renameSync(temporary, target);
    } catch (error) {
        fs.rmSync(temporary, { force: true });
        const e = error as NodeJS.ErrnoException;
        throw new UsageError(`cannot write ${file} (${e.code ?? e.message}): check the path and its permissions`);
    }
}

/** Where `fleet emit` records, per engine, the files it wrote into `--out`. */
export const EMIT_RECORD = ".ray-s3-access-emit.json";

/** A path the record may name: relative, inside the directory (a record edited by hand cannot point elsewhere). */
function insideRelative(file: unknown): file is string {
    return typeof file === "string" && file !== "" && !path.isAbsolute(file) && !file.split(/[\\/]/).includes("..");
}

/**
 * Writes one engine's files into `outDir` and, with `prune`, removes the files it wrote there last time and writes no
 * more (an environment whose stack file is gone, a workflow renamed), so a GitOps tool never keeps applying a stale
 * object. Without `prune` (some environments only) the earlier files stay and stay recorded. Files anyone else put
 * there are never touched. Returns the removed files' paths.
 */
export function writeFileSet(outDir: string, engine: string, files: { path: string; content: string }[], prune: boolean): string[] {
    const record = path.join(outDir, EMIT_RECORD);
    let written: Record<string, unknown> = {};
    try {
        const parsed: unknown = JSON.parse(fs.readFileSync(record, "utf8"));
        if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) written = parsed as Record<string, unknown>;
    } catch {
        // No record yet (the first emit into this directory), or not one we can read: nothing to remove.
    }
    for (const file of files) writeWhole(path.join(outDir, file.path), file.content);
    const now = new Set(files.map((f) => f.path));
    const before = Array.isArray(written[engine]) ? (written[engine] as unknown[]).filter(insideRelative) : [];
    const removed = prune ? before.filter((file) => !now.has(file) && fs.existsSync(path.join(outDir, file))) : [];
    for (const file of removed) fs.rmSync(path.join(outDir, file), { force: true });
    const kept = prune ? now : new Set([...before, ...now]);
    writeWhole(record, `${JSON.stringify({ ...written, [engine]: [...kept].sort() }, null, 2)}\n`);
    return removed;
}
