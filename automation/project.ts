/**
 * Which program the runner drives in `--cwd`:
 *
 * - **own**: the directory holds a `Pulumi.yaml` whose program is not this package's. Every command works on
 *   that project: `render` / `check` evaluate its `main` in-process, the Automation API runs it in place.
 * - **bundled**: the directory holds only stack files (`Pulumi.STACK.yaml` with `ray-s3-access:tenants`), or a
 *   `Pulumi.yaml` whose `main` is this package's own program (this repository). The runner uses the program
 *   shipped in the package, wherever `node_modules` put it.
 */
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "./errors";
import { loadYamlFile } from "./yamlFiles";

/** The project name of the bundled program (its config namespace too). */
import { BUNDLED_PROJECT, packageRoot } from "./packageInfo";

export { BUNDLED_PROJECT, packageRoot };
export { packageVersion } from "./packageInfo";

export type ProjectMode = "own" | "bundled";

export interface Project {
    mode: ProjectMode;
    /** The directory the runner was pointed at (`--cwd`). */
    dir: string;
    /** The Pulumi project name (config keys without a namespace belong to it). */
    name: string;
    /** The program's entry: a file, or a directory Node.js resolves (`index`, or package.json `main`). */
    main: string;
    /** Load TypeScript through ts-node, as Pulumi's Node.js host does (`runtime.options.typescript`, default true). */
    typescript: boolean;
    /** Where the `Pulumi.STACK.yaml` files are (Pulumi.yaml `stackConfigDir`, default the project directory). */
    stackConfigDir: string;
    /** Project-level config from Pulumi.yaml (`config:` defaults), as `namespace:key` -> value. */
    defaults: Record<string, unknown>;
}

/**
 * The bundled program's directory: compiled JavaScript when the runner runs compiled (the installed package),
 * the TypeScript source when it runs from source (tests).
 */
export function bundledProgramDir(): string {
    const compiled = path.basename(path.dirname(__dirname)) === "bin";
    return compiled ? path.join(path.dirname(__dirname), "programs") : path.join(packageRoot(), "programs");
}

/** Whether two paths name the same file or directory (symlinks followed where the path exists). */
export function samePath(a: string, b: string): boolean {
    const real = (p: string) => {
        try {
            return fs.realpathSync(p);
        } catch {
            return path.resolve(p);
        }
    };
    return real(a) === real(b);
}

interface PulumiYaml {
    name?: unknown;
    runtime?: unknown;
    main?: unknown;
    stackConfigDir?: unknown;
    config?: unknown;
}

function readPulumiYaml(file: string): PulumiYaml {
    const document = loadYamlFile(file, { bytes: 1024 * 1024, values: 100_000 });
    if (!document || typeof document !== "object" || Array.isArray(document)) {
        throw new UsageError(`${file} must be a YAML mapping with at least \`name\` and \`runtime\``);
    }
    return document as PulumiYaml;
}

/** Project-level config: `key: value` or `key: { default: value }`; keys without a namespace get the project's. */
function projectDefaults(name: string, config: unknown): Record<string, unknown> {
    const defaults: Record<string, unknown> = {};
    if (!config || typeof config !== "object" || Array.isArray(config)) return defaults;
    for (const [key, spec] of Object.entries(config as Record<string, unknown>)) {
        const fullKey = key.includes(":") ? key : `${name}:${key}`;
        if (spec && typeof spec === "object" && !Array.isArray(spec)) {
            if ("default" in spec) defaults[fullKey] = (spec as { default: unknown }).default;
            else if ("value" in spec) defaults[fullKey] = (spec as { value: unknown }).value;
        } else if (spec !== undefined && spec !== null) {
            defaults[fullKey] = spec;
        }
    }
    return defaults;
}

/** Reads `--cwd` and decides which program the runner drives. */
export function loadProject(cwd: string): Project {
    const dir = path.resolve(cwd);
    if (!fs.existsSync(dir)) {
        throw new UsageError(`--cwd ${cwd}: no such directory; point it at your Pulumi project or at a directory of Pulumi.STACK.yaml files`);
    }
    if (!fs.statSync(dir).isDirectory()) {
        throw new UsageError(`--cwd ${cwd} is a file, not a directory: point it at the directory that holds Pulumi.yaml or the Pulumi.STACK.yaml files`);
    }
    const bundled: Project = {
        mode: "bundled",
        dir,
        name: BUNDLED_PROJECT,
        main: bundledProgramDir(),
        typescript: false,
        stackConfigDir: dir,
        defaults: {},
    };
    const file = ["Pulumi.yaml", "Pulumi.yml"].map((f) => path.join(dir, f)).find((f) => fs.existsSync(f));
    if (!file) return bundled;

    const settings = readPulumiYaml(file);
    if (typeof settings.name !== "string" || settings.name === "") {
        throw new UsageError(`${path.basename(file)}: \`name\` must be the project's name (a string); it is ${JSON.stringify(settings.name)}`);
    }
    const runtime = typeof settings.runtime === "string" ? { name: settings.runtime } : ((settings.runtime ?? {}) as { name?: unknown; options?: any });
    if (runtime.name !== "nodejs") {
        throw new UsageError(
            `${path.basename(file)}: runtime ${JSON.stringify(runtime.name)} is not nodejs: render and check evaluate Node.js programs in-process; ` +
                "run the policy pack with `pulumi preview --policy-pack node_modules/ray-s3-access/policies` instead",
        );
    }
    const main = path.resolve(dir, typeof settings.main === "string" ? settings.main : ".");
    const stackConfigDir = typeof settings.stackConfigDir === "string" ? path.resolve(dir, settings.stackConfigDir) : dir;
    // This repository's own Pulumi.yaml runs the bundled program: treat it as such (per-tenant stacks and all).
    if (samePath(main, path.join(packageRoot(), "programs")) || samePath(main, bundledProgramDir())) {
        return { ...bundled, stackConfigDir, defaults: projectDefaults(BUNDLED_PROJECT, settings.config) };
    }
    return {
        mode: "own",
        dir,
        name: settings.name,
        main,
        typescript: runtime.options?.typescript !== false,
        stackConfigDir,
        defaults: projectDefaults(settings.name, settings.config),
    };
}
