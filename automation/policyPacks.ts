/**
 * The policy packs `check` runs offline and `preview` / `up` hand to the Pulumi CLI. The default is the pack
 * shipped in this package (`<package>/policies`: PulumiPolicy.yaml and a package.json whose `main` is the
 * compiled pack). `--policy-pack DIR` takes any other Node.js pack: offline, its rules are read by loading the
 * pack's entry the way the CLI's policy host does, with `@pulumi/policy`'s server swapped for one that only
 * records what `new PolicyPack(...)` was given.
 */
import type { Policies, PolicyPackConfig } from "@pulumi/policy";
import * as fs from "fs";
import * as path from "path";
import { UsageError } from "./errors";
import { assertPolicyConfig } from "./policyConfig";
import { packageRoot, samePath } from "./project";
import { registerTypeScript } from "./typescript";

export interface LoadedPolicyPack {
    name: string;
    dir: string;
    policies: Policies;
}

/** The pack shipped in this package, as `pulumi preview --policy-pack` takes it. */
export function bundledPolicyPackDir(): string {
    return path.join(packageRoot(), "policies");
}

/** Where the CLI gets the pack: the directory given (relative to `cwd`), or the bundled one. */
export function policyPackDir(cwd: string, dir: string | undefined): string {
    return dir === undefined ? bundledPolicyPackDir() : path.resolve(cwd, dir);
}

/** Loads a pack's rules in-process for the offline `check`. */
export function loadPolicyPack(cwd: string, dir: string | undefined): LoadedPolicyPack {
    const packDir = policyPackDir(cwd, dir);
    if (samePath(packDir, bundledPolicyPackDir())) {
        // The bundled pack's rules, without starting its gRPC server.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return { name: "ray-s3-access", dir: packDir, policies: require("../policies/rules").policies };
    }
    if (!fs.existsSync(path.join(packDir, "PulumiPolicy.yaml"))) {
        throw new UsageError(
            `--policy-pack ${dir}: ${packDir} has no PulumiPolicy.yaml, so it is not a policy pack; give the pack's directory, or drop the flag for the bundled pack`,
        );
    }
    let server: { serve: (...args: any[]) => void };
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        server = require(require.resolve("@pulumi/policy/server", { paths: [packDir] }));
    } catch {
        throw new UsageError(`--policy-pack ${dir}: @pulumi/policy is not installed for ${packDir}; run \`npm install\` there first`);
    }
    const entry = require.resolve(packDir);
    if (/\.tsx?$/.test(entry)) registerTypeScript(packDir);
    const serve = server.serve;
    let captured: { name: string; policies: Policies } | undefined;
    server.serve = (name: string, _version: unknown, _level: unknown, args: { policies?: Policies }) => {
        captured = { name, policies: args.policies ?? [] };
    };
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require(entry);
    } catch (error) {
        throw new UsageError(`--policy-pack ${dir}: loading ${entry} failed (${(error as Error).message.split("\n")[0]})`);
    } finally {
        server.serve = serve;
    }
    if (!captured) {
        throw new UsageError(`--policy-pack ${dir}: ${entry} created no PolicyPack (a pack's entry calls \`new PolicyPack(name, { policies })\`)`);
    }
    return { ...captured, dir: packDir };
}

/** Reads `--policy-pack-config` and checks it against the pack's policies (exit 2 on any problem). */
export function loadPolicyConfig(cwd: string, file: string | undefined, policies: Policies): PolicyPackConfig {
    if (!file) return {};
    const resolved = path.resolve(cwd, file);
    let text: string;
    try {
        if (fs.statSync(resolved).size > 1024 * 1024) throw new Error("larger than 1 MiB");
        text = fs.readFileSync(resolved, "utf8");
    } catch (error) {
        throw new UsageError(`--policy-pack-config ${file}: cannot read ${resolved} (${(error as Error).message})`);
    }
    // The Pulumi CLI reads an empty file as no config.
    if (text.trim() === "") return {};
    let config: unknown;
    try {
        config = JSON.parse(text);
    } catch (error) {
        throw new UsageError(`--policy-pack-config ${file}: not valid JSON (${(error as Error).message})`);
    }
    return assertPolicyConfig(policies, config, file);
}
