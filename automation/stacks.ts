/**
 * Which stacks a command runs: the project's `Pulumi.STACK.yaml` files, and with --per-tenant one stack per
 * tenant (`STACK.NAMESPACE`) next to its environment stack.
 */
import * as fs from "fs";
import * as yaml from "js-yaml";
import * as path from "path";
import { CONFIG_NAMESPACE, parseStackConfig, StackConfig } from "../programs/config";

export const PROJECT = "ray-s3-access";

/** A usage or configuration problem: exit code 2. */
export class UsageError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "UsageError";
    }
}

export type StackRole = "environment" | "tenant";

/** One stack to render, check or deploy. */
export interface StackTarget {
    stack: string;
    role: StackRole;
    /** The environment stack a tenant stack belongs to (its own name for an environment stack). */
    environment: string;
    /** Config as Pulumi stores it: `namespace:key` -> string (objects and lists as JSON). */
    config: Record<string, string>;
    /** The validated config. */
    parsed: StackConfig;
    tenants: string[];
}

/** Stack names that have a Pulumi.NAME.yaml in the project directory. */
export function discoverStacks(cwd: string): string[] {
    return fs
        .readdirSync(cwd)
        .map((file) => /^Pulumi\.(.+)\.ya?ml$/.exec(file)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
}

/** A stack file's config block, flattened to how Pulumi passes config to programs. */
export function readStackConfig(cwd: string, stack: string): Record<string, string> {
    const file = ["yaml", "yml"].map((ext) => path.join(cwd, `Pulumi.${stack}.${ext}`)).find((f) => fs.existsSync(f));
    if (!file) {
        throw new UsageError(`stack "${stack}" has no Pulumi.${stack}.yaml in ${cwd}: create it, or pick one of ${discoverStacks(cwd).join(", ") || "(none)"}`);
    }
    let document: any;
    try {
        document = yaml.load(fs.readFileSync(file, "utf8"));
    } catch (error) {
        throw new UsageError(`${path.basename(file)} is not valid YAML: ${(error as Error).message}`);
    }
    const config: Record<string, string> = {};
    for (const [key, value] of Object.entries(document?.config ?? {})) {
        if (value && typeof value === "object" && !Array.isArray(value) && "secure" in (value as object)) {
            continue; // secrets are the CLI's business; offline commands do not need them
        }
        config[key] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return config;
}

function validated(stack: string, config: Record<string, string>): StackConfig {
    const own: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) {
        if (key.startsWith(`${CONFIG_NAMESPACE}:`)) own[key] = value;
    }
    try {
        return parseStackConfig(stack, own);
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

export interface SelectOptions {
    cwd: string;
    stacks?: string[];
    tenants?: string[];
    perTenant?: boolean;
}

/**
 * The targets of a command, validated before anything runs: environment stacks first, then (with
 * --per-tenant) one stack per selected tenant. A --tenant filter naming no tenant is a usage error.
 */
export function selectTargets(options: SelectOptions): StackTarget[] {
    const names = options.stacks && options.stacks.length > 0 ? options.stacks : discoverStacks(options.cwd);
    if (names.length === 0) {
        throw new UsageError(`no Pulumi.STACK.yaml in ${options.cwd}: pass --cwd to the project, or --stack`);
    }
    const filter = options.tenants && options.tenants.length > 0 ? new Set(options.tenants) : undefined;
    const environments: StackTarget[] = [];
    const tenants: StackTarget[] = [];
    const matched = new Set<string>();
    for (const stack of names) {
        const config = readStackConfig(options.cwd, stack);
        const parsed = validated(stack, config);
        const selected = parsed.tenants.filter((t) => !filter || filter.has(t.namespace));
        selected.forEach((t) => matched.add(t.namespace));
        if (!options.perTenant) {
            // A --tenant filter narrows the environment stack itself to those tenants.
            const narrowed = filter ? { ...config, [`${CONFIG_NAMESPACE}:tenants`]: JSON.stringify(selected) } : config;
            if (selected.length > 0) {
                environments.push({
                    stack,
                    role: "environment",
                    environment: stack,
                    config: narrowed,
                    parsed: validated(stack, narrowed),
                    tenants: selected.map((t) => t.namespace),
                });
            }
            continue;
        }
        const clusterConfig = { ...config, [`${CONFIG_NAMESPACE}:tenantStacks`]: "true" };
        environments.push({ stack, role: "environment", environment: stack, config: clusterConfig, parsed: validated(stack, clusterConfig), tenants: [] });
        for (const tenant of selected) {
            const tenantStack = `${stack}.${tenant.namespace}`;
            const tenantConfig: Record<string, string> = {};
            for (const [key, value] of Object.entries(config)) {
                if (key !== `${CONFIG_NAMESPACE}:tenants`) tenantConfig[key] = value;
            }
            tenantConfig[`${CONFIG_NAMESPACE}:tenant`] = JSON.stringify(tenant);
            tenantConfig[`${CONFIG_NAMESPACE}:environmentStack`] = `organization/${PROJECT}/${stack}`;
            tenants.push({
                stack: tenantStack,
                role: "tenant",
                environment: stack,
                config: tenantConfig,
                parsed: validated(tenantStack, tenantConfig),
                tenants: [tenant.namespace],
            });
        }
    }
    if (filter) {
        const unknown = [...filter].filter((t) => !matched.has(t));
        if (unknown.length > 0) {
            throw new UsageError(`--tenant ${unknown.map((t) => `"${t}"`).join(", ")} matches no tenant of ${names.join(", ")}`);
        }
    }
    return [...environments, ...tenants];
}
