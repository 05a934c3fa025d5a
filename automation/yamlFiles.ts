/**
 * Stack and project files are read with bounds: a size limit, and a limit on how many values the document
 * expands to. YAML aliases are references, so a few hundred bytes can stand for billions of values (the
 * "billion laughs"); the parse itself is cheap, but anything that walks the result (JSON, validation) would run
 * out of memory, so the expansion is counted first, stopping at the limit, and the key it happens under is named.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { UsageError } from "./errors";

export const MAX_FILE_BYTES = 16 * 1024 * 1024;
export const MAX_VALUES = 2_000_000;

/** Counts the values reachable from `root` (aliases counted at every use), stopping past `limit`; the top-level key where it stopped. */
function expansion(root: unknown, limit: number): { count: number; key?: string } {
    let count = 0;
    const visit = (value: unknown): boolean => {
        if (++count > limit) return false;
        if (Array.isArray(value)) return value.every(visit);
        if (value && typeof value === "object") return Object.values(value).every(visit);
        return true;
    };
    if (root && typeof root === "object" && !Array.isArray(root)) {
        for (const [key, value] of Object.entries(root)) {
            if (value && typeof value === "object" && !Array.isArray(value)) {
                // Name the key one level down (config.ray-s3-access:tenants).
                count++;
                for (const [inner, innerValue] of Object.entries(value)) {
                    if (!visit(innerValue)) return { count, key: `${key}.${inner}` };
                }
            } else if (!visit(value)) {
                return { count, key };
            }
        }
        return { count };
    }
    visit(root);
    return { count, key: count > limit ? "(top level)" : undefined };
}

/** Loads a YAML file, refusing one over the size limit or expanding past the value limit, naming the file. */
export function loadYamlFile(file: string, limits = { bytes: MAX_FILE_BYTES, values: MAX_VALUES }): unknown {
    const name = path.basename(file);
    let size: number;
    try {
        size = fs.statSync(file).size;
    } catch (error) {
        throw new UsageError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    if (size > limits.bytes) {
        throw new UsageError(
            `${name} is ${size} bytes, over the ${limits.bytes}-byte limit for a Pulumi file: split its tenants across stacks (--per-tenant, or more Pulumi.STACK.yaml files)`,
        );
    }
    let document: unknown;
    try {
        document = yaml.load(fs.readFileSync(file, "utf8"), { filename: name });
    } catch (error) {
        throw new UsageError(`${name} is not valid YAML: ${(error as Error).message.split("\n")[0]}`);
    }
    const { count, key } = expansion(document, limits.values);
    if (count > limits.values) {
        throw new UsageError(
            `${name}: ${key} expands to more than ${limits.values} values (YAML aliases repeat what they point at): write the values out, or split the stack`,
        );
    }
    return document;
}
